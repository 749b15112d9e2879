/**
 * Long kill run (`deno task bench:kill`, not in CI): SIGKILL the real server
 * at random moments of a capture, of a restore and of a restore's
 * pre-restore step, restart it, and check after every kill what the kill
 * tests (tests/crash/) check: each volume wholly old or wholly new and all
 * agreeing, no staging/old dirs, no journal, no partial archive, the replaced
 * data kept as a pre-restore snapshot, the containers that ran running again
 * and the ones that did not still down.
 *
 *   deno run -A bench/kill_bench.ts [--kills 200]
 *
 * Needs DOCKER_HOST and VOLSNAP_TEST_IMAGE (bench/kill.sh starts a private
 * dockerd). Prints one JSON line of figures at the end; exits 1 on any
 * violated invariant.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DockerScratch } from "../tests/_helpers/docker_cli.ts";
import {
  clearDir,
  containerState,
  leftovers,
  populateTree,
  volumeMountpoint,
} from "../tests/_helpers/fixtures.ts";
import { sleep, TestServer } from "../tests/_helpers/server.ts";
import { diffTrees, fingerprint } from "../tests/_helpers/tree.ts";
import { TEMP_MARK } from "../src/fs/durable.ts";

type Kind = "capture" | "restore" | "pre-restore";
const { values } = parseArgs({ args: Deno.args, options: { kills: { type: "string" } } });
const KILLS = Number(values.kills ?? 200);

function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

const scratch = new DockerScratch("vs-killb");
const dataDir = await Deno.makeTempDir({ prefix: "volsnap-killb-" });
const server = await TestServer.start({ dataDir });
const figures = {
  kills: 0,
  byKind: { capture: 0, restore: 0, "pre-restore": 0 } as Record<Kind, number>,
  restoreOutcome: { old: 0, new: 0 },
  captureKept: 0,
  spansMs: {} as Record<string, number>,
  failures: [] as string[],
  wallS: 0,
};
const t0 = Date.now();
try {
  const wid = scratch.prefix;
  const vol = await scratch.volume("data");
  const bindDir = await Deno.makeTempDir({ prefix: "vs-killb-bind-" });
  const lab = { "volsnap.workload": wid };
  const db = await scratch.container({ name: "db", labels: lab, args: ["-v", `${vol}:/data`] });
  const app = await scratch.container({
    name: "app",
    labels: lab,
    args: ["-v", `${bindDir}:/bind`],
  });
  const idle = await scratch.container({ name: "idle", labels: lab, start: false });
  const volDir = await volumeMountpoint(vol);
  populateTree(volDir, "A", { bytes: 1_000_000 });
  populateTree(bindDir, "A", { bytes: 1_000_000 });
  const stateA = { vol: fingerprint(volDir), bind: fingerprint(bindDir) };
  const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
  check(cap.status === 201, JSON.stringify(cap.json));
  const sid = cap.json.snapshot.id as string;

  const setStateB = () => {
    clearDir(volDir);
    clearDir(bindDir);
    populateTree(volDir, "BB", { bytes: 500_000 });
    populateTree(bindDir, "BB", { bytes: 500_000 });
    return { vol: fingerprint(volDir), bind: fingerprint(bindDir) };
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${server.token}`,
        "content-type": "application/json",
        ...headers,
      },
      body: JSON.stringify(body),
    }).then(async (r) => (await r.json().catch(() => ({}))) as Record<string, unknown>)
      .catch(() => ({}));
  const startRestore = () =>
    post(`/api/v1/workloads/${wid}/restore`, { snapshotId: sid }, { "x-confirm-restore": sid });
  const startCapture = () => post(`/api/v1/workloads/${wid}/snapshots`, {});

  /** Runs one operation to its end, polling its phase; returns ms to each phase and to the end. */
  const measure = async (start: () => Promise<Record<string, unknown>>) => {
    const t = Date.now();
    const res = await start();
    const op = (res.operation as { id: string }).id;
    const phases: Record<string, number> = {};
    for (;;) {
      const r = await server.api("GET", `/api/v1/operations/${op}`);
      const phase = r.json.operation?.phase as string;
      phases[phase] ??= Date.now() - t;
      if (r.json.operation?.state !== "running") break;
      await sleep(20);
    }
    return { phases, total: Date.now() - t };
  };

  const checkContainers = async (label: string) => {
    check(await containerState(db) === "running", `${label}: db not running`);
    check(await containerState(app) === "running", `${label}: app not running`);
    check(await containerState(idle) === "created", `${label}: idle was started`);
    check(files(join(dataDir, "journal")).length === 0, `${label}: journal left`);
  };

  const checkRestore = async (stateB: typeof stateA, trialStart: string, label: string) => {
    const v = fingerprint(volDir);
    const b = fingerprint(bindDir);
    const volNew = diffTrees(v, stateA.vol).length === 0;
    const volOld = diffTrees(v, stateB.vol).length === 0;
    const bindNew = diffTrees(b, stateA.bind).length === 0;
    const bindOld = diffTrees(b, stateB.bind).length === 0;
    check(volNew || volOld, `${label}: volume is neither old nor new`);
    check(bindNew || bindOld, `${label}: bind is neither old nor new`);
    check(volNew === bindNew, `${label}: volumes disagree`);
    check(leftovers([volDir, bindDir]).length === 0, `${label}: staging/old dirs left`);
    await checkContainers(label);
    if (volNew) {
      const list = await server.api("GET", `/api/v1/workloads/${wid}/snapshots`);
      const pre = (list.json.snapshots as { origin: string; createdAt: string }[])
        .filter((s) => s.origin === "pre-restore" && s.createdAt >= trialStart);
      check(pre.length >= 1, `${label}: restored, but the replaced data was not preserved`);
    }
    figures.restoreOutcome[volNew ? "new" : "old"]++;
  };

  const checkCapture = async (before: Set<string>, label: string) => {
    await checkContainers(label);
    const rows = (await server.api("GET", `/api/v1/workloads/${wid}/snapshots`)).json
      .snapshots as { id: string; file?: string }[];
    const archived = files(server.archivesDir());
    // Every archive file has a row, and no row lacks its file (sweep reconciles).
    check(
      archived.length === rows.length,
      `${label}: ${archived.length} archives vs ${rows.length} rows`,
    );
    check(files(join(dataDir, "orphans")).length === 0, `${label}: a file without row`);
    if (rows.some((r) => !before.has(r.id))) figures.captureKept++;
    const orphans = archived.filter((f) => f.includes(TEMP_MARK));
    check(orphans.length === 0, `${label}: partial archive left: ${orphans}`);
  };

  // Spans to draw kill moments from.
  const capSpan = await measure(startCapture);
  setStateB();
  const resSpan = await measure(startRestore);
  const preStart = resSpan.phases["preserving"] ?? resSpan.total * 0.6;
  figures.spansMs = { capture: capSpan.total, restore: resSpan.total, preRestoreFrom: preStart };

  const kinds: Kind[] = ["capture", "restore", "pre-restore"];
  for (let i = 0; i < KILLS; i++) {
    const kind = kinds[i % 3];
    const label = `kill ${i} (${kind})`;
    try {
      if (kind === "capture") {
        const before = new Set(
          ((await server.api("GET", `/api/v1/workloads/${wid}/snapshots`)).json.snapshots as {
            id: string;
          }[]).map((s) => s.id),
        );
        startCapture();
        await sleep(Math.random() * capSpan.total * 1.1);
        server.kill("SIGKILL");
        await server.exited();
        await server.restart();
        await checkCapture(before, label);
      } else {
        const stateB = setStateB();
        const trialStart = new Date(Date.now() - 1000).toISOString();
        startRestore();
        const at = kind === "restore"
          ? Math.random() * preStart
          : preStart + Math.random() * (resSpan.total * 1.1 - preStart);
        await sleep(at);
        server.kill("SIGKILL");
        await server.exited();
        await server.restart();
        await checkRestore(stateB, trialStart, label);
      }
      figures.kills++;
      figures.byKind[kind]++;
    } catch (err) {
      figures.failures.push(`${label}: ${(err as Error).message}`);
      console.error(`FAIL ${label}: ${(err as Error).message}\n${server.log.slice(-1500)}`);
      await server.restart().catch(() => {});
    }
    if (i % 10 === 9) {
      console.error(`kill bench: ${i + 1}/${KILLS}, ${figures.failures.length} failures`);
    }
  }
} finally {
  figures.wallS = Math.round((Date.now() - t0) / 1000);
  await server.stop();
  await scratch.cleanup();
}
console.log(JSON.stringify(figures));
if (figures.failures.length) Deno.exit(1);
