/**
 * The tests that matter most: SIGKILL the real server at every named phase of
 * a restore and at random moments, restart it, and check that the recovery
 * sweep leaves each volume wholly old or wholly restored (all volumes
 * agreeing), no staging/old dirs, no journal, the replaced data preserved,
 * and the containers that were running running again.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import {
  clearDir,
  containerState,
  leftovers,
  populateTree,
  volumeMountpoint,
} from "../_helpers/fixtures.ts";
import { sleep, TestServer } from "../_helpers/server.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";

/** Each named point and the state recovery must settle on: before the commit point old, after it new. */
const NAMED_POINTS: [string, "old" | "new"][] = [
  ["restore.staged", "old"], // after staging, before quiesce
  ["restore.quiesced", "old"], // containers stopped, journal not yet at swapping
  ["restore.journaled", "old"], // after the journal write, before the first rename
  ["restore.swap.half", "old"], // inside one volume's swap: live moved aside, staged not yet in place
  ["restore.swapped_one", "old"], // between two volumes' swaps
  ["restore.committed", "new"], // after the swap, before restart
  ["restore.started", "new"], // containers restarted, before the pre-restore capture
  ["restore.preserving", "new"], // during the pre-restore capture
  ["restore.preserved", "new"], // pre-restore snapshot durable, old dirs not yet deleted
];
const RANDOM_TRIALS = Number(Deno.env.get("VOLSNAP_KILL_TRIALS") ?? 50);

Deno.test("SIGKILL at every phase of a restore: recovery leaves each volume wholly old or wholly new", async (t) => {
  const scratch = new DockerScratch("vs-kill");
  const dataDir = await Deno.makeTempDir({ prefix: "volsnap-kill-" });
  const server = await TestServer.start({ dataDir });
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    const bindDir = await Deno.makeTempDir({ prefix: "vs-kill-bind-" });
    const lab = { "volsnap.workload": wid };
    const db = await scratch.container({ name: "db", labels: lab, args: ["-v", `${vol}:/data`] });
    const app = await scratch.container({
      name: "app",
      labels: lab,
      args: ["-v", `${bindDir}:/bind`],
    });
    const idle = await scratch.container({ name: "idle", labels: lab, start: false });
    const volDir = await volumeMountpoint(vol);

    populateTree(volDir, "A", { bytes: 2_000_000 });
    populateTree(bindDir, "A", { bytes: 2_000_000 });
    const stateA = { vol: fingerprint(volDir), bind: fingerprint(bindDir) };
    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const sid = cap.json.snapshot.id as string;

    const setStateB = () => {
      clearDir(volDir);
      clearDir(bindDir);
      populateTree(volDir, "BB", { bytes: 1_000_000 });
      populateTree(bindDir, "BB", { bytes: 1_000_000 });
      return { vol: fingerprint(volDir), bind: fingerprint(bindDir) };
    };
    const startRestore = () =>
      fetch(`${server.url}/api/v1/workloads/${wid}/restore`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${server.token}`,
          "content-type": "application/json",
          "x-confirm-restore": sid,
        },
        body: JSON.stringify({ snapshotId: sid }),
      }).then((r) => r.body?.cancel()).catch(() => {});

    /** After a crash and restart: the invariants of SPEC §5–6. */
    const checkRecovered = async (stateB: typeof stateA, trialStart: string, label: string) => {
      const vNow = fingerprint(volDir);
      const bNow = fingerprint(bindDir);
      const volIsA = diffTrees(vNow, stateA.vol).length === 0;
      const volIsB = diffTrees(vNow, stateB.vol).length === 0;
      const bindIsA = diffTrees(bNow, stateA.bind).length === 0;
      const bindIsB = diffTrees(bNow, stateB.bind).length === 0;
      assert(
        volIsA || volIsB,
        `${label}: volume is neither old nor new: ${diffTrees(vNow, stateA.vol).slice(0, 5)}`,
      );
      assert(bindIsA || bindIsB, `${label}: bind is neither old nor new`);
      assertEquals(
        volIsA,
        bindIsA,
        `${label}: volumes disagree (vol new=${volIsA}, bind new=${bindIsA})`,
      );
      assertEquals(leftovers([volDir, bindDir]), [], `${label}: staging/old dirs left`);
      assertEquals(
        [...Deno.readDirSync(join(dataDir, "journal"))].map((e) => e.name),
        [],
        `${label}: journal left`,
      );
      assertEquals(await containerState(db), "running", `${label}: db not running`);
      assertEquals(await containerState(app), "running", `${label}: app not running`);
      assertEquals(await containerState(idle), "created", `${label}: idle container was started`);
      if (volIsA) {
        // The replaced data must survive as a pre-restore snapshot.
        const list = await server.api("GET", `/api/v1/workloads/${wid}/snapshots`);
        const pre = (list.json.snapshots as { origin: string; createdAt: string }[])
          .filter((s) => s.origin === "pre-restore" && s.createdAt >= trialStart);
        assert(pre.length >= 1, `${label}: restored, but the replaced data was not preserved`);
      }
      return volIsA ? "new" : "old";
    };

    for (const [point, expected] of NAMED_POINTS) {
      await t.step(`killed at ${point}`, async () => {
        const stateB = setStateB();
        const trialStart = new Date(Date.now() - 1000).toISOString();
        await server.restart({ killAt: point });
        startRestore();
        const status = await Promise.race([server.exited(), sleep(60_000).then(() => undefined)]);
        assert(status, `server was not killed at ${point}:\n${server.log.slice(-2000)}`);
        assertEquals(status.signal, "SIGKILL");
        await server.restart();
        assertEquals(await checkRecovered(stateB, trialStart, point), expected, point);
      });
    }

    // Random moments: measure one full restore, then kill uniformly within it.
    setStateB();
    const t0 = Date.now();
    const full = await server.api("POST", `/api/v1/workloads/${wid}/restore?wait=true`, {
      snapshotId: sid,
    }, {
      "x-confirm-restore": sid,
    });
    assertEquals(full.status, 200, JSON.stringify(full.json));
    const span = Date.now() - t0;
    const random: Record<string, number> = { old: 0, new: 0 };
    await t.step(`${RANDOM_TRIALS} kills at random moments within ${span} ms`, async () => {
      for (let i = 0; i < RANDOM_TRIALS; i++) {
        const stateB = setStateB();
        const trialStart = new Date(Date.now() - 1000).toISOString();
        startRestore();
        await sleep(Math.random() * span * 1.1);
        server.kill("SIGKILL");
        await server.exited();
        await server.restart();
        random[await checkRecovered(stateB, trialStart, `random trial ${i}`)]++;
      }
    });
    console.log(`random-kill outcomes ${JSON.stringify(random)}`);
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});
