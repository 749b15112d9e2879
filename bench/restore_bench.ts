/**
 * Restore-side benchmark: volsnap's extractArchive against
 * `zstd -dc X | tar -xpf - -C dir` on the same GNU-tar-made .tar.zst.
 *
 *   deno run -A bench/restore_bench.ts [datasetDir] [--runs N] [--work DIR] [--keep]
 *     [--reuse] [--stream] [--scan]
 *
 * WORK defaults to /dev/shm/volsnap-restore-bench (see below) and is removed
 * at the end unless --keep; --reuse takes WORK/bench.tar.zst from an earlier
 * --keep run (packing takes ~20 s);
 * --stream feeds extractArchive a ReadableStream instead of sourcePath;
 * --scan also times scanArchive (verify: no writes) against `zstd -dc | tar -tf`.
 *
 * datasetDir defaults to /tmp/volsnap-bench/data (bench/dataset.ts makes
 * it, the same 1 GiB set as the capture bench) when it is missing. Each volsnap run is a
 * subprocess so its peak RSS (VmHWM) is its own. Not a test: prints numbers.
 */
import { extractArchive } from "../src/unpack/extract.ts";
import { DEFAULT_LIMITS } from "../src/tar/limits.ts";
import { scanArchive } from "../src/unpack/verify.ts";
import { MANIFEST_FORMAT } from "../src/core/model.ts";
import { makeDataset } from "./dataset.ts";

/**
 * Output dir; tmpfs by default. On ext4, creating 60k files right after
 * deleting 60k (the previous run's output) makes both tools take 20-50 s of
 * kernel time in ext4_create's `recently_deleted` inode-bitmap scan (seen
 * with perf): a file system artefact, not a measurement of either tool.
 */
const workArg = Deno.args.indexOf("--work");
const WORK = workArg >= 0
  ? Deno.args[workArg + 1]
  : (await Deno.stat("/dev/shm").then(() => true, () => false))
  ? "/dev/shm/volsnap-restore-bench"
  : "/tmp/volsnap-bench/restore";

/**
 * CPU time (user+sys, all threads) of this process, excluding the zstd child:
 * the primary metric on a shared machine, where wall clock varies with load.
 */
function cpuMs(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14/15 (utime/stime) are 11/12 after the ") " split; USER_HZ is 100.
  return (Number(f[11]) + Number(f[12])) * 10;
}

if (Deno.args[0] === "--child") {
  const [, archive, out, how] = Deno.args;
  const limits = { ...DEFAULT_LIMITS, maxExpandedBytes: 2 ** 50 };
  const t0 = performance.now();
  const res = how === "scan" ? await scanArchive({ path: archive }, limits) : await extractArchive({
    ...(how === "stream"
      ? { source: (await Deno.open(archive)).readable }
      : { sourcePath: archive }),
    targetDirFor: () => out,
    limits,
  });
  const ms = performance.now() - t0;
  const hwm = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+) kB/)![1];
  console.log(
    JSON.stringify({
      ms,
      cpuMs: cpuMs(),
      rssMiB: Number(hwm) / 1024,
      bytes: res.stats.uncompressedBytes,
    }),
  );
  Deno.exit(0);
}

const runsArg = Deno.args.indexOf("--runs");
const runs = runsArg >= 0 ? Number(Deno.args[runsArg + 1]) : 3;
const DEFAULT_DATASET = "/tmp/volsnap-bench/data";
const dataset =
  Deno.args.find((a, i) =>
    !a.startsWith("--") && i !== runsArg + 1 && (workArg < 0 || i !== workArg + 1)
  ) ?? DEFAULT_DATASET;

async function sh(cmd: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd}: ${new TextDecoder().decode(out.stderr)}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The capture bench's set (1 GiB, ~60k files), made once and kept; a given dir is used as it is.
if (dataset === DEFAULT_DATASET) await makeDataset(dataset, 1);
else await Deno.stat(dataset);
await Deno.mkdir(WORK, { recursive: true });
const archive = `${WORK}/bench.tar.zst`;
const manifest = {
  format: MANIFEST_FORMAT,
  snapshotId: "bench",
  workload: "bench",
  createdAt: new Date().toISOString(),
  tool: { name: "volsnap", version: "bench" },
  quiesce: "none",
  volumes: [{
    index: 0,
    key: "bind:bench",
    type: "bind",
    source: dataset,
    destinations: [],
    root: { uid: 0, gid: 0, mode: 0o755 },
  }],
};
await Deno.writeTextFile(`${WORK}/volsnap.json`, JSON.stringify(manifest));
const reuse = Deno.args.includes("--reuse") &&
  await Deno.stat(archive).then(() => true, () => false);
if (!reuse) {
  console.log(`packing ${dataset} with GNU tar + zstd -3 -T0 …`);
  await sh(
    `tar --format=posix -cf - -C ${WORK} volsnap.json -C ${dataset} ` +
      `--transform='s,^\\./,volumes/0/,;s,^\\.$,volumes/0,' . | zstd -q -3 -T0 > ${archive}`,
  );
}
const how = Deno.args.includes("--stream") ? "stream" : "path";
const size = (await Deno.stat(archive)).size;

const vol: number[] = [];
const cpu: number[] = [];
const rss: number[] = [];
const tar: number[] = [];
const tarSync: number[] = [];
let bytes = 0;
const self = new URL(import.meta.url).pathname;
const outV = `${WORK}/out-volsnap`;
const outT = `${WORK}/out-tar`;
async function runVolsnap() {
  await sh(`rm -rf ${outV}; sync`);
  const t0 = performance.now();
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, "--child", archive, outV, how],
    stdout: "piped",
  }).output();
  const wall = performance.now() - t0;
  if (!child.success) throw new Error("volsnap child failed");
  const r = JSON.parse(new TextDecoder().decode(child.stdout));
  vol.push(wall);
  cpu.push(r.cpuMs);
  rss.push(r.rssMiB);
  bytes = r.bytes;
  return `volsnap ${wall.toFixed(0)} ms (in-process ${
    r.ms.toFixed(0)
  } ms, incl. sync -f, cpu ${r.cpuMs} ms, RSS ${r.rssMiB.toFixed(0)} MiB)`;
}
async function runTar() {
  await sh(`rm -rf ${outT}; sync`);
  const t1 = performance.now();
  await sh(`mkdir ${outT} && zstd -dc ${archive} | tar -xpf - -C ${outT}`);
  const t2 = performance.now();
  await sh(`sync -f ${outT}`);
  const t3 = performance.now();
  tar.push(t2 - t1);
  tarSync.push(t3 - t1);
  return `tar ${(t2 - t1).toFixed(0)} ms, tar+sync ${(t3 - t1).toFixed(0)} ms`;
}
// Alternating order, and each output removed before the next run: neither
// side always runs second on a fuller tmpfs.
for (let i = 0; i < runs; i++) {
  const last = i === runs - 1;
  const order = i % 2 ? [runTar, runVolsnap] : [runVolsnap, runTar];
  const lines: string[] = [];
  for (const step of order) {
    lines.push(await step());
    if (!last) await sh(`rm -rf ${outV} ${outT}`);
  }
  console.log(`run ${i + 1}: ${lines.join("; ")}`);
}
await sh(`diff -r --no-dereference ${WORK}/out-volsnap ${WORK}/out-tar/volumes/0`);
const mib = bytes / 2 ** 20;
const mv = median(vol);
const mt = median(tar);
const mts = median(tarSync);
console.log(`archive ${(size / 2 ** 20).toFixed(0)} MiB zstd, ${mib.toFixed(0)} MiB tar stream`);
console.log(
  `volsnap extractArchive: median ${mv.toFixed(0)} ms = ${
    (mib / (mv / 1000)).toFixed(0)
  } MiB/s, cpu (user+sys) median ${median(cpu).toFixed(0)} ms, peak RSS ${
    median(rss).toFixed(0)
  } MiB`,
);
console.log(
  `zstd -dc | tar -xpf:    median ${mt.toFixed(0)} ms = ${
    (mib / (mt / 1000)).toFixed(0)
  } MiB/s (with sync -f: ${mts.toFixed(0)} ms)`,
);
console.log(
  `throughput ratio volsnap/tar: ${(mt / mv).toFixed(2)} (vs tar+sync: ${
    (mts / mv).toFixed(2)
  }; target ≥ 0.9)`,
);
await sh(`rm -rf ${WORK}/out-volsnap ${WORK}/out-tar`);

if (Deno.args.includes("--scan")) {
  const scan: number[] = [];
  const list: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", self, "--child", archive, "-", "scan"],
      stdout: "piped",
    }).output();
    if (!child.success) throw new Error("volsnap scan child failed");
    const t1 = performance.now();
    await sh(`zstd -dc ${archive} | tar -tf - > /dev/null`);
    const t2 = performance.now();
    scan.push(t1 - t0);
    list.push(t2 - t1);
    console.log(
      `scan run ${i + 1}: volsnap scanArchive ${(t1 - t0).toFixed(0)} ms, ` +
        `zstd -dc | tar -tf ${(t2 - t1).toFixed(0)} ms`,
    );
  }
  console.log(
    `scanArchive (verify): median ${median(scan).toFixed(0)} ms, ` +
      `zstd -dc | tar -tf: ${median(list).toFixed(0)} ms, ratio ${
        (median(list) / median(scan)).toFixed(2)
      }`,
  );
}

// The packed archive takes ~700 MiB of RAM on tmpfs: kept only when asked.
if (!Deno.args.includes("--keep")) await Deno.remove(WORK, { recursive: true });
