/**
 * Review: a running container that restore does not stop keeps the OLD dir
 * mounted across the swap; whatever it writes afterwards lands in a dir that
 * the pre-restore step archives and then deletes. Restore must refuse (or
 * stop it) in every such case, not only for containers of other discovered
 * workloads seen at pre-flight.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { dockerCli, DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { AppError } from "../../src/core/errors.ts";
import { join } from "node:path";

/**
 * Runs the restore; if it succeeds, the outside container writes a probe and
 * the probe must be visible in the live volume (it was not writing into a
 * dir that volsnap deleted).
 */
async function restoreThenProbe(
  run: () => Promise<unknown>,
  outside: string,
  liveDir: string,
) {
  try {
    await run();
  } catch (err) {
    if (err instanceof AppError && err.code === "workload_busy") return "refused";
    throw err;
  }
  const state = (await dockerCli(["inspect", "-f", "{{.State.Status}}", outside])).stdout;
  if (state !== "running") return "stopped";
  const w = await dockerCli(
    ["exec", outside, "sh", "-c", "echo probe > /data/probe-after-restore"],
    {
      allowFail: true,
    },
  );
  assert(
    w.code === 0,
    `container ${outside} was left running on the pre-restore dir that volsnap deleted: ${w.stderr}`,
  );
  assert(
    (() => {
      try {
        Deno.statSync(join(liveDir, "probe-after-restore"));
        return true;
      } catch {
        return false;
      }
    })(),
    `container ${outside} still runs and writes into the deleted pre-restore dir; its writes are lost`,
  );
  return "ok";
}

Deno.test("an excluded container sharing the volume: restore refuses or its writes still reach the live volume", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-rv-ex");
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    const side = await scratch.container({
      name: "side",
      labels: { "volsnap.exclude": "true" },
      args: ["-v", `${vol}:/data`],
    });
    const live = await volumeMountpoint(vol);
    populateTree(live, "A");
    // Under stop, the capture itself refuses while "side" runs (SPEC §5 Guards).
    const snap = await runOp(await env.engine.prepareCapture(wid, { quiesce: "none" }));
    const outcome = await restoreThenProbe(
      async () => runOp(await env.engine.prepareRestore(wid, { snapshotId: snap.id })),
      side,
      live,
    );
    assert(outcome !== undefined);
  } finally {
    await scratch.cleanup();
    env.close();
  }
});

Deno.test("a container of another workload started during staging: restore refuses or its writes still reach the live volume", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-rv-st");
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    const other = await scratch.container({
      name: "other",
      labels: { "volsnap.workload": `${wid}-other` },
      args: ["-v", `${vol}:/data`],
      start: false,
    });
    const live = await volumeMountpoint(vol);
    populateTree(live, "A");
    const snap = await runOp(await env.engine.prepareCapture(wid, {}));
    env.onFault = async (name) => {
      if (name === "restore.staged") await dockerCli(["start", other]);
    };
    const outcome = await restoreThenProbe(
      async () => runOp(await env.engine.prepareRestore(wid, { snapshotId: snap.id })),
      other,
      live,
    );
    assertEquals(typeof outcome, "string");
  } finally {
    await scratch.cleanup();
    env.close();
  }
});

Deno.test("a container binding a subdirectory of the volume: restore refuses or its writes still reach the live volume", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-rv-sub");
  try {
    const wid = scratch.prefix;
    const bind = await Deno.makeTempDir({ prefix: "vs-rv-sub-" });
    await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${bind}:/data`],
    });
    populateTree(bind, "A");
    Deno.mkdirSync(join(bind, "shared"));
    const side = await scratch.container({
      name: "side",
      labels: { "volsnap.workload": `${wid}-side` },
      args: ["-v", `${join(bind, "shared")}:/data`],
    });
    // Under stop, the capture itself refuses while "side" runs (SPEC §5 Guards).
    const snap = await runOp(await env.engine.prepareCapture(wid, { quiesce: "none" }));
    const outcome = await restoreThenProbe(
      async () => runOp(await env.engine.prepareRestore(wid, { snapshotId: snap.id })),
      side,
      join(bind, "shared"),
    );
    assertEquals(typeof outcome, "string");
  } finally {
    await scratch.cleanup();
    env.close();
  }
});
