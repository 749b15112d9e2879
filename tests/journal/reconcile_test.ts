/** The sweep's reconcile step: drop rows whose file is gone, but never all at once. */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";

Deno.test("reconcile drops a row whose archive vanished, but keeps all rows when every archive is missing", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-rec");
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    await scratch.container({
      name: "a",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    populateTree(await volumeMountpoint(vol), "A");
    const s1 = await runOp(await env.engine.prepareCapture(wid, { quiesce: "none" }));
    const s2 = await runOp(await env.engine.prepareCapture(wid, { quiesce: "none" }));
    const archives = join(env.config.dataDir, "archives");

    // The whole archives dir is absent (an unmounted disk): nothing is forgotten.
    await Deno.rename(archives, archives + ".away");
    await env.recover();
    assertEquals((await env.catalog.listSnapshots(wid)).length, 2);
    await Deno.remove(archives, { recursive: true });
    await Deno.rename(archives + ".away", archives);

    // One file really lost: only its row goes.
    await Deno.remove(join(archives, s1.file));
    await env.recover();
    assertEquals((await env.catalog.listSnapshots(wid)).map((s) => s.id), [s2.id]);
    assert(Deno.statSync(join(archives, s2.file)).isFile);
  } finally {
    await scratch.cleanup();
    env.close();
  }
});
