/**
 * The sweep never rolls a volume back while a container that uses it runs
 * (issue 9 item 4): after a SIGKILL mid-swap, someone starts the app from
 * outside; the sweep must leave its live dir alone, block the workload with
 * the reason, and roll back once the app is stopped.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { dockerCli, DockerScratch } from "../_helpers/docker_cli.ts";
import { clearDir, containerState, leftovers, populateTree } from "../_helpers/fixtures.ts";
import { sleep, TestServer } from "../_helpers/server.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";

Deno.test("killed mid-swap, app started from outside: the sweep does not roll back under it", async () => {
  const scratch = new DockerScratch("vs-gu-swr");
  const dataDir = await Deno.makeTempDir({ prefix: "volsnap-gu-swr-" });
  const parent = await Deno.makeTempDir({ prefix: "vs-gu-swr-bind-" });
  const live = join(parent, "live");
  Deno.mkdirSync(live);
  const server = await TestServer.start({ dataDir });
  try {
    const wid = scratch.prefix;
    const app = await scratch.container({
      name: "app",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${live}:/bind`],
    });
    populateTree(live, "A", { bytes: 10_000 });
    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const sid = cap.json.snapshot.id as string;
    clearDir(live);
    populateTree(live, "BB", { bytes: 10_000 });
    const stateB = fingerprint(live);

    await server.restart({ killAt: "restore.swap.half" });
    server.api("POST", `/api/v1/workloads/${wid}/restore`, { snapshotId: sid }, {
      "x-confirm-restore": sid,
    }).catch(() => {});
    await server.exited();
    // Docker's restart policy, compose or an operator starts the app on the half-swapped dir.
    await dockerCli(["start", app]);
    await dockerCli(["exec", app, "sh", "-c", "echo written-after-crash > /bind/mine"]);
    const liveIno = Deno.statSync(live).ino;

    await server.restart();
    assertEquals(await containerState(app), "running");
    assertEquals(Deno.statSync(live).ino, liveIno, "the sweep renamed the running app's dir away");
    assertEquals(Deno.readTextFileSync(join(live, "mine")), "written-after-crash\n");
    const w = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(w.json.error?.code, "workload_recovery_failed", JSON.stringify(w.json));
    assert(
      String(w.json.error?.message).includes(app),
      `reason does not name the app: ${w.json.error?.message}`,
    );

    // Once the app is stopped, the retry (here: the next start) rolls back to the old data.
    await dockerCli(["stop", "-t", "1", app]);
    await server.restart();
    await sleep(200);
    assertEquals(diffTrees(fingerprint(live), stateB), []);
    assertEquals(leftovers([live]), []);
    assertEquals([...Deno.readDirSync(join(dataDir, "journal"))].length, 0);
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});
