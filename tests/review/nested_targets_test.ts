/**
 * Review: two targets of one workload where one lies inside the other (bind
 * `/srv/app` and bind `/srv/app/data`). The inner volume's staging dir is
 * created inside the outer live dir, so it moves away with the outer swap.
 * Restore must refuse such a plan up front, or succeed exactly; it must
 * never leave volsnap's dirs inside the live data.
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { populateTree } from "../_helpers/fixtures.ts";
import { AppError } from "../../src/core/errors.ts";

Deno.test("nested bind targets: restore refuses up front or leaves no volsnap dirs inside live data", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-rv-nest");
  const outer = await Deno.makeTempDir({ prefix: "vs-rv-nest-" });
  const inner = join(outer, "data");
  Deno.mkdirSync(inner);
  try {
    const wid = scratch.prefix;
    await scratch.container({
      name: "app",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${outer}:/app`, "-v", `${inner}:/data`],
    });
    populateTree(inner, "A");
    Deno.writeTextFileSync(join(outer, "config"), "A");
    const snap = await runOp(await env.engine.prepareCapture(wid, {}));
    Deno.writeTextFileSync(join(outer, "config"), "B");
    let outcome = "restored";
    try {
      await runOp(await env.engine.prepareRestore(wid, { snapshotId: snap.id }));
    } catch (err) {
      outcome = err instanceof AppError && err.code === "invalid_input"
        ? "refused"
        : `failed: ${err}`;
    }
    const stray = [...Deno.readDirSync(outer), ...Deno.readDirSync(inner)]
      .map((e) => e.name).filter((n) => n.includes(".volsnap-"));
    assertEquals(stray, [], `volsnap dirs left inside the live data (restore ${outcome})`);
    assertEquals(outcome === "refused" || outcome === "restored", true, outcome);
  } finally {
    await scratch.cleanup();
    env.close();
  }
});
