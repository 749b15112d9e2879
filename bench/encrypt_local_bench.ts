/**
 * VOLSNAP_ENCRYPT_LOCAL cost (SPEC §13: ≤ 10 % slower capture): the same
 * data set written as a single-file snapshot archive, plain and age-encrypted
 * (pack/writer.ts `encryptFor`), alternating in one run so both see the same
 * machine load. The data set is bench/dataset.ts (mixed compressible and
 * random files, small and large).
 *
 *   deno run -A bench/encrypt_local_bench.ts [--scale 0.5] [--runs 3] [--dir /dev/shm/…]
 *
 * Not a test: prints numbers. Compare within a run (the machine is shared).
 */
import { join } from "node:path";
import { benchManifest, makeDataset } from "./dataset.ts";
import { writeSnapshotArchive } from "../src/pack/writer.ts";

const arg = (name: string, dflt: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : dflt;
};
const dir = arg("dir", "/dev/shm/volsnap-enc-bench");
const runs = Number(arg("runs", "3"));
const data = join(dir, "data");
const summary = await makeDataset(data, Number(arg("scale", "0.5")));
const keyFile = join(dir, "key.txt");
await Deno.remove(keyFile).catch(() => {});
const kg = await new Deno.Command("age-keygen", { args: ["-o", keyFile], stderr: "piped" })
  .output();
const recipient = /age1[0-9a-z]+/.exec(new TextDecoder().decode(kg.stderr))![0];

/**
 * CPU seconds of this process (all threads) and its reaped children (zstd,
 * age), from /proc/self/stat: less sensitive to other tenants' load than wall time.
 */
function cpuSeconds(): number {
  const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  // fields 14-17 of stat(5) (utime stime cutime cstime), here from field 3 on
  return f.slice(11, 15).reduce((a, b) => a + Number(b), 0) / 100; // USER_HZ
}

async function once(encrypt: boolean) {
  const out = join(dir, encrypt ? "snap.tar.zst.age" : "snap.tar.zst");
  await Deno.remove(out).catch(() => {});
  const t0 = performance.now();
  const c0 = cpuSeconds();
  const { stats } = await writeSnapshotArchive({
    finalPath: out,
    compression: "zstd",
    manifest: benchManifest({ key: "volume:bench", type: "volume", name: "bench" }),
    sources: [{ index: 0, hostPath: data }],
    encryptFor: encrypt ? [recipient] : undefined,
  });
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  const onDisk = (await Deno.stat(out)).size;
  await Deno.remove(out);
  return { s, cpu, onDisk, sizeBytes: stats.sizeBytes };
}

console.log(
  `data set: ${(summary.bytes / 2 ** 20).toFixed(0)} MiB in ${summary.files} files; load ${
    Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
  }`,
);
await once(false); // warm the page cache and the workers
const pct = (a: number, b: number) => `${a >= b ? "+" : ""}${((a / b - 1) * 100).toFixed(1)} %`;
const ratios: number[] = [];
for (let r = 0; r < runs; r++) {
  // Alternate which goes first, so a load change within a pair favours neither.
  const [plain, enc] = r % 2
    ? [await once(false), await once(true)]
    : await once(true).then(async (e) => [await once(false), e]);
  ratios.push(enc.s / plain.s);
  console.log(
    `  run ${r + 1}: plain ${plain.s.toFixed(2)} s (cpu ${plain.cpu.toFixed(1)} s), ` +
      `encrypted ${enc.s.toFixed(2)} s (cpu ${enc.cpu.toFixed(1)} s) ` +
      `(${(enc.onDisk / 2 ** 20).toFixed(0)} MiB on disk for ${
        (enc.sizeBytes / 2 ** 20).toFixed(0)
      } MiB of archive); wall ${pct(enc.s, plain.s)}, cpu ${pct(enc.cpu, plain.cpu)}; load ${
        Deno.loadavg()[0].toFixed(2)
      }`,
  );
}
ratios.sort((a, b) => a - b);
const med = ratios.length % 2
  ? ratios[(ratios.length - 1) / 2]
  : (ratios[ratios.length / 2 - 1] + ratios[ratios.length / 2]) / 2;
console.log(
  `median ${pct(med, 1)} (${pct(ratios[0], 1)} to ${pct(ratios.at(-1)!, 1)}); load ${
    Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
  }`,
);
