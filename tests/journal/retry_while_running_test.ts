/**
 * Containers volsnap left down are retried while the server runs, with
 * backoff, not only at the next start (SPEC §6, issue 9 item 8).
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { containerState, populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { sleep } from "../_helpers/server.ts";
import { AppError } from "../../src/core/errors.ts";
import { retryBlockedRecoveries } from "../../src/journal/recovery.ts";

Deno.test("a container a capture could not bring back is started by the background retry", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-gu-rt");
  let stop = () => {};
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    const db = await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    populateTree(await volumeMountpoint(vol), "A", { bytes: 10_000 });
    let refusals = 0;
    env.dockerFaults.startContainer = () => {
      refusals++;
      throw new AppError("docker_error", "injected: cannot start");
    };
    await runOp(await env.engine.prepareCapture(wid, {}));
    assertEquals(await containerState(db), "exited", "precondition: db was left down");
    const journal = join(env.config.dataDir, "journal");
    assertEquals([...Deno.readDirSync(journal)].length, 1, "journal dropped");

    stop = retryBlockedRecoveries(env.ctx, { baseMs: 300, maxMs: 1_200 });
    // Still refusing: retried with backoff, the journal kept.
    await sleep(3_000);
    const tries = refusals - 1;
    assertEquals(await containerState(db), "exited");
    assertEquals([...Deno.readDirSync(journal)].length, 1);
    if (tries < 2 || tries > 6) {
      throw new Error(`expected a few retries with backoff, saw ${tries}`);
    }
    // Docker accepts again: the next retry brings db back and drops the journal.
    delete env.dockerFaults.startContainer;
    for (let i = 0; i < 40 && await containerState(db) !== "running"; i++) await sleep(250);
    assertEquals(await containerState(db), "running", "the retry never started db");
    for (let i = 0; i < 20 && [...Deno.readDirSync(journal)].length; i++) await sleep(250);
    assertEquals([...Deno.readDirSync(journal)].length, 0);
    const again = await runOp(await env.engine.prepareCapture(wid, {}));
    assertEquals(again.workload, wid);
  } finally {
    stop();
    delete env.dockerFaults.startContainer;
    await scratch.cleanup();
    env.close();
  }
});
