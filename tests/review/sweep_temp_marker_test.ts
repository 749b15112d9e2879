/**
 * Review: what the recovery sweep deletes or forgets. It must never remove a
 * complete archive or the catalog row that makes it restorable because of a
 * name it did not choose or a file it cannot see from this host.
 */
import { join } from "node:path";
import { assert } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { existsSync, populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";

Deno.test("a workload whose id contains the temp-file marker keeps its archives across a sweep", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-rv-tmp");
  try {
    // A legal workload id (letters, digits, '.', '-', '_') that happens to contain ".volsnap-tmp".
    const wid = `${scratch.prefix}.volsnap-tmp`;
    const vol = await scratch.volume("data");
    await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    populateTree(await volumeMountpoint(vol), "A");
    const snap = await runOp(await env.engine.prepareCapture(wid, {}));
    const file = join(env.config.dataDir, "archives", snap.file);
    assert(existsSync(file), "precondition: archive written");

    await env.recover();
    assert(existsSync(file), `the sweep deleted complete archive ${snap.file} as a "temp file"`);
    assert(await env.catalog.getSnapshot(snap.id), "the sweep dropped the snapshot's catalog row");
  } finally {
    await scratch.cleanup();
    env.close();
  }
});
