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

async function once(encrypt: boolean) {
  const out = join(dir, encrypt ? "snap.tar.zst.age" : "snap.tar.zst");
  await Deno.remove(out).catch(() => {});
  const t0 = performance.now();
  const { stats } = await writeSnapshotArchive({
    finalPath: out,
    compression: "zstd",
    manifest: benchManifest({ key: "volume:bench", type: "volume", name: "bench" }),
    sources: [{ index: 0, hostPath: data }],
    encryptFor: encrypt ? [recipient] : undefined,
  });
  const s = (performance.now() - t0) / 1000;
  const onDisk = (await Deno.stat(out)).size;
  await Deno.remove(out);
  return { s, onDisk, sizeBytes: stats.sizeBytes };
}

console.log(
  `data set: ${(summary.bytes / 2 ** 20).toFixed(0)} MiB in ${summary.files} files; load ${
    Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
  }`,
);
await once(false); // warm the page cache and the workers
for (let r = 0; r < runs; r++) {
  const plain = await once(false);
  const enc = await once(true);
  console.log(
    `  run ${r + 1}: plain ${plain.s.toFixed(2)} s, encrypted ${enc.s.toFixed(2)} s ` +
      `(${(enc.onDisk / 2 ** 20).toFixed(0)} MiB on disk for ${
        (enc.sizeBytes / 2 ** 20).toFixed(0)
      } MiB of archive); ` +
      `+${((enc.s / plain.s - 1) * 100).toFixed(1)} %; load ${Deno.loadavg()[0].toFixed(2)}`,
  );
}
