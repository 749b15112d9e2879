/**
 * Capture benchmark: volsnap's writeSnapshotArchive (zstd-3) against
 * `tar -cf - DIR | zstd -3 -T0`, alternating, on a warm page cache.
 * volsnap runs in a subprocess so its peak RSS (VmHWM) is its own.
 *
 * Usage: deno run -A bench/capture_bench.ts [--rounds 3] [--root /tmp/volsnap-bench]
 */
import { benchManifest, makeDataset } from "./dataset.ts";
import { writeSnapshotArchive } from "../src/pack/writer.ts";
import type { Compression } from "../src/core/model.ts";

const MiB = 1024 * 1024;

function arg(name: string, def: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : def;
}

interface ChildResult {
  ms: number;
  sizeBytes: number;
  uncompressedBytes: number;
  fileCount: number;
  hwmKiB: number;
  warnings: number;
  cpu?: { user: number; sys: number; childUser: number; childSys: number };
}

type Engine = "auto" | "cli" | "node";

async function child(dir: string, out: string, compression: Compression, engine: Engine) {
  const t0 = performance.now();
  const { stats } = await writeSnapshotArchive({
    finalPath: out,
    compression,
    zstdEngine: engine,
    manifest: benchManifest({ key: `bind:${dir}`, type: "bind", source: dir }, "stop"),
    sources: [{ index: 0, hostPath: dir }],
  });
  const ms = performance.now() - t0;
  const status = await Deno.readTextFile("/proc/self/status");
  const hwmKiB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // utime, stime, cutime, cstime in clock ticks (100/s): own threads vs the zstd child.
  const f = (await Deno.readTextFile("/proc/self/stat")).split(") ")[1].split(" ");
  const cpu = [11, 12, 13, 14].map((i) => Number(f[i]) / 100);
  const r: ChildResult = {
    ms,
    sizeBytes: stats.sizeBytes,
    uncompressedBytes: stats.uncompressedBytes,
    fileCount: stats.fileCount,
    hwmKiB,
    warnings: stats.warnings.length,
    cpu: { user: cpu[0], sys: cpu[1], childUser: cpu[2], childSys: cpu[3] },
  };
  console.log(JSON.stringify(r));
}

async function runVolsnap(
  dir: string,
  out: string,
  compression: Compression,
  engine: Engine = "auto",
): Promise<ChildResult> {
  const self = new URL(import.meta.url).pathname;
  const p = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, "--child", dir, out, compression, engine],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!p.success) throw new Error(`volsnap child failed (${p.code})`);
  return JSON.parse(new TextDecoder().decode(p.stdout).trim().split("\n").pop()!);
}

/** GNU tar | zstd; `durable` adds the fsync volsnap always does before its rename. */
async function runTarZstd(
  dir: string,
  out: string,
  durable = false,
): Promise<{ ms: number; sizeBytes: number }> {
  const t0 = performance.now();
  const sync = durable ? ` && sync -d "$2"` : "";
  const p = await new Deno.Command("bash", {
    args: [
      "-c",
      `set -o pipefail; tar -cf - -C "$1" . | zstd -3 -T0 -q -c > "$2"${sync}`,
      "_",
      dir,
      out,
    ],
  }).output();
  const ms = performance.now() - t0;
  if (!p.success) throw new Error(`tar | zstd failed: ${new TextDecoder().decode(p.stderr)}`);
  return { ms, sizeBytes: (await Deno.stat(out)).size };
}

async function tarSize(dir: string): Promise<number> {
  const p = await new Deno.Command("bash", {
    args: ["-c", `tar -cf - -C "$1" . | wc -c`, "_", dir],
  }).output();
  return Number(new TextDecoder().decode(p.stdout).trim());
}

/**
 * Untimed, before every run: remove the earlier outputs (freeing a 695 MiB
 * file costs its deleter, whichever run that is) and flush every dirty page,
 * so no run pays for an earlier one.
 */
async function settle(outDir: string): Promise<void> {
  for (const f of ["volsnap.tar.zst", "gnu.tar.zst"]) {
    await Deno.remove(`${outDir}/${f}`).catch(() => {});
  }
  await new Deno.Command("sync").output();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function bench(label: string, dir: string, outDir: string, rounds: number) {
  const tarBytes = await tarSize(dir); // also warms the page cache
  await runVolsnap(dir, `${outDir}/warm.tar.zst`, "zstd");
  const v: ChildResult[] = [];
  const t: { ms: number; sizeBytes: number }[] = [];
  const td: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await settle(outDir);
    v.push(await runVolsnap(dir, `${outDir}/volsnap.tar.zst`, "zstd"));
    await settle(outDir);
    t.push(await runTarZstd(dir, `${outDir}/gnu.tar.zst`));
    await settle(outDir);
    td.push((await runTarZstd(dir, `${outDir}/gnu.tar.zst`, true)).ms);
    console.log(
      `  ${label} round ${i + 1}: volsnap ${(v[i].ms / 1000).toFixed(2)} s ` +
        `(RSS ${(v[i].hwmKiB / 1024).toFixed(0)} MiB), tar|zstd ${
          (t[i].ms / 1000).toFixed(2)
        } s, ` +
        `+fsync ${(td[i] / 1000).toFixed(2)} s`,
    );
  }
  const vm = median(v.map((r) => r.ms));
  const tm = median(t.map((r) => r.ms));
  const last = v[v.length - 1];
  console.log(`${label}: ${last.fileCount} entries, tar ${(tarBytes / MiB).toFixed(0)} MiB`);
  console.log(
    `  volsnap zstd-3   median ${(vm / 1000).toFixed(2)} s  ` +
      `${(last.uncompressedBytes / MiB / (vm / 1000)).toFixed(0)} MiB/s  ` +
      `${(last.sizeBytes / MiB).toFixed(0)} MiB (ratio vs tar bytes ${
        (tarBytes / last.sizeBytes).toFixed(3)
      })  ` +
      `peak RSS ${(Math.max(...v.map((r) => r.hwmKiB)) / 1024).toFixed(0)} MiB  ` +
      `warnings ${last.warnings}`,
  );
  console.log(
    `  tar | zstd -3 -T0 median ${(tm / 1000).toFixed(2)} s  ` +
      `${(tarBytes / MiB / (tm / 1000)).toFixed(0)} MiB/s  ` +
      `${(t[t.length - 1].sizeBytes / MiB).toFixed(0)} MiB (ratio ${
        (tarBytes / t[t.length - 1].sizeBytes).toFixed(3)
      })`,
  );
  const cpu = last.cpu;
  if (cpu) {
    console.log(
      `  volsnap CPU (last round): own user ${cpu.user} s sys ${cpu.sys} s, ` +
        `zstd child user ${cpu.childUser} s sys ${cpu.childSys} s`,
    );
  }
  const tdm = median(td);
  console.log(
    `  tar | zstd -3 -T0 && sync -d (durable like volsnap) median ${(tdm / 1000).toFixed(2)} s`,
  );
  console.log(
    `  volsnap / tar+zstd = ${(vm / tm).toFixed(2)}; volsnap / tar+zstd+fsync = ${
      (vm / tdm).toFixed(2)
    }`,
  );
}

/** One run each of the fallbacks: zstd without the CLI (node:zlib worker) and gzip. */
async function fallbacks(label: string, dir: string, outDir: string) {
  const tarBytes = await tarSize(dir);
  for (const [c, e] of [["zstd", "node"], ["gzip", "auto"]] as const) {
    const r = await runVolsnap(dir, `${outDir}/fallback.tar`, c, e);
    console.log(
      `${label}: volsnap ${c}${c === "zstd" ? " (" + e + ")" : "-6"} ${
        (r.ms / 1000).toFixed(2)
      } s ` +
        `${(tarBytes / MiB / (r.ms / 1000)).toFixed(0)} MiB/s, ${
          (r.sizeBytes / MiB).toFixed(0)
        } MiB, ` +
        `peak RSS ${(r.hwmKiB / 1024).toFixed(0)} MiB`,
    );
  }
}

if (Deno.args[0] === "--child") {
  await child(
    Deno.args[1],
    Deno.args[2],
    (Deno.args[3] ?? "zstd") as Compression,
    (Deno.args[4] ?? "auto") as Engine,
  );
} else {
  const root = arg("--root", "/tmp/volsnap-bench");
  const rounds = Number(arg("--rounds", "3"));
  const outDir = `${root}/out`;
  await Deno.mkdir(outDir, { recursive: true });
  console.log("# capture benchmark (generating data sets on first run)");
  await makeDataset(`${root}/data`, 1);
  await makeDataset(`${root}/data-quarter`, 0.25);
  await bench("1 GiB set", `${root}/data`, outDir, rounds);
  await bench("250 MiB set", `${root}/data-quarter`, outDir, rounds);
  await fallbacks("250 MiB set", `${root}/data-quarter`, outDir);
  await Deno.remove(outDir, { recursive: true });
}
