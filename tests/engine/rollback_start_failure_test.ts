/**
 * A swap that fails and rolls back, after which the containers will not
 * start, keeps its journal and blocks the workload: the sweep (and the
 * background retry) start them later (issue 9 item 7).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { clearDir, containerState, populateTree } from "../_helpers/fixtures.ts";
import { AppError } from "../../src/core/errors.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";

Deno.test("swap fails, rollback succeeds, start fails: journal kept, the sweep starts the container", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-gu-rbs");
  const live = await Deno.makeTempDir({ prefix: "vs-gu-rbs-" });
  try {
    const wid = scratch.prefix;
    const app = await scratch.container({
      name: "app",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${live}:/bind`],
    });
    populateTree(live, "A", { bytes: 10_000 });
    const snap = await runOp(await env.engine.prepareCapture(wid, {}));
    clearDir(live);
    populateTree(live, "BB", { bytes: 10_000 });
    const before = fingerprint(live);
    env.onFault = (name) => {
      if (name === "restore.swap.half") throw new Error("injected failure inside the swap");
    };
    env.dockerFaults.startContainer = () => {
      throw new AppError("docker_error", "injected: cannot start");
    };
    let failed = false;
    try {
      await runOp(await env.engine.prepareRestore(wid, { snapshotId: snap.id }));
    } catch {
      failed = true;
    }
    assert(failed, "precondition: the restore failed");
    delete env.dockerFaults.startContainer;
    env.onFault = () => {};
    assertEquals(diffTrees(fingerprint(live), before), [], "rollback did not restore the data");
    assertEquals(await containerState(app), "exited", "precondition: app could not be started");
    const journals = [...Deno.readDirSync(join(env.config.dataDir, "journal"))];
    assertEquals(
      journals.length,
      1,
      "the journal, the only record of the stopped app, was dropped",
    );
    assert(await env.catalog.getBlock(wid), "workload not blocked while its container is down");

    await env.recover();
    assertEquals(await containerState(app), "running", "the sweep did not start the app");
    assertEquals([...Deno.readDirSync(join(env.config.dataDir, "journal"))].length, 0);
    assertEquals(await env.catalog.getBlock(wid), undefined);
    assertEquals(diffTrees(fingerprint(live), before), []);
  } finally {
    await scratch.cleanup();
    env.close();
  }
});
