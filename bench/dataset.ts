/**
 * Deterministic benchmark data set (fixed seed): many small files (0–16 KiB)
 * in nested dirs, some MiB-sized files and a few of 50–100 MiB; every other
 * file is text-like (compressible), the rest random. Full scale ≈ 1 GiB in
 * ≈ 60k files; `--scale 0.25` makes a proportional subset.
 *
 * Usage: deno run -A bench/dataset.ts <dir> [--scale 1]
 * Reuses <dir> when `<dir>.done` says it was completed with the same scale.
 */
import { MANIFEST_FORMAT } from "../src/core/model.ts";
import type { ManifestDraft } from "../src/pack/writer.ts";

const MiB = 1024 * 1024;

/** xorshift128+-ish 32-bit generator; fast and reproducible. */
class Rng {
  #s = new Uint32Array(4);
  constructor(seed: number) {
    this.#s.set([seed >>> 0, 0x9e3779b9, 0x243f6a88, 0xb7e15162]);
    for (let i = 0; i < 16; i++) this.next();
  }
  next(): number {
    const s = this.#s;
    let t = s[3];
    const u = s[0];
    s[3] = s[2];
    s[2] = s[1];
    s[1] = u;
    t ^= t << 11;
    t ^= t >>> 8;
    s[0] = t ^ u ^ (u >>> 19);
    return s[0];
  }
  below(n: number): number {
    return this.next() % n;
  }
  fillRandom(b: Uint8Array): void {
    const words = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = this.next();
    for (let i = words.length * 4; i < b.length; i++) b[i] = this.next() & 0xff;
  }
}

const WORDS = (
  "the of and to in is was for on that with as by at from it an be this which or are " +
  "request response error warning info debug user session database query index table " +
  "volume snapshot restore container image network backup latency timeout retry commit " +
  "select insert update delete where order group limit offset value status ok failed"
).split(" ");
const enc = new TextEncoder();

/** Log-like text: timestamps, levels, words and numbers. */
function fillText(rng: Rng, b: Uint8Array): void {
  let off = 0;
  let t = 1_700_000_000_000 + rng.below(1_000_000);
  const levels = ["INFO", "WARN", "DEBUG", "ERROR"];
  while (off < b.length) {
    t += rng.below(5000);
    let line = `${new Date(t).toISOString()} ${levels[rng.below(4)]} [${rng.below(64)}]`;
    const n = 6 + rng.below(14);
    for (let i = 0; i < n; i++) {
      line += " " +
        (rng.below(5) === 0 ? String(rng.below(100000)) : WORDS[rng.below(WORDS.length)]);
    }
    const bytes = enc.encode(line + "\n");
    const k = Math.min(bytes.length, b.length - off);
    b.set(bytes.subarray(0, k), off);
    off += k;
  }
}

export interface DatasetSummary {
  files: number;
  bytes: number;
}

export async function makeDataset(dir: string, scale = 1): Promise<DatasetSummary> {
  const done = `${dir}.done`;
  try {
    const prev = JSON.parse(await Deno.readTextFile(done));
    if (prev.scale === scale) return prev.summary;
  } catch {
    // not generated yet
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const rng = new Rng(20261122);
  const buf = new Uint8Array(100 * MiB);
  let files = 0;
  let bytes = 0;
  const write = (path: string, size: number) => {
    const b = buf.subarray(0, size);
    if (files % 2 === 0) fillText(rng, b);
    else rng.fillRandom(b);
    Deno.writeFileSync(path, b);
    files++;
    bytes += size;
  };

  const small = Math.round(59_000 * scale);
  const perDir = 50;
  for (let i = 0; i < small; i++) {
    const d = Math.floor(i / perDir);
    const sub = `${dir}/s${Math.floor(d / 40)}/d${d}`;
    if (i % perDir === 0) Deno.mkdirSync(sub, { recursive: true });
    write(`${sub}/f${i}.dat`, rng.below(16 * 1024 + 1));
  }
  const medium = Math.round(60 * scale);
  Deno.mkdirSync(`${dir}/medium`, { recursive: true });
  for (let i = 0; i < medium; i++) write(`${dir}/medium/m${i}.bin`, MiB + rng.below(7 * MiB));
  const large = Math.max(1, Math.round(4 * scale));
  Deno.mkdirSync(`${dir}/large`, { recursive: true });
  for (let i = 0; i < large; i++) write(`${dir}/large/l${i}.bin`, 50 * MiB + rng.below(50 * MiB));

  const summary = { files, bytes };
  await Deno.writeTextFile(done, JSON.stringify({ scale, summary }));
  return summary;
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) {
    console.error("usage: dataset.ts <dir> [--scale N]");
    Deno.exit(2);
  }
  const i = Deno.args.indexOf("--scale");
  const scale = i >= 0 ? Number(Deno.args[i + 1]) : 1;
  const s = await makeDataset(dir, scale);
  console.log(`${dir}: ${s.files} files, ${(s.bytes / MiB).toFixed(0)} MiB`);
}

/** The manifest draft the benchmarks write archives with (one volume). */
export function benchManifest(
  volume: { key: string; type: "volume" | "bind"; name?: string; source?: string },
  quiesce: "none" | "stop" = "none",
): ManifestDraft {
  return {
    format: MANIFEST_FORMAT,
    snapshotId: "bench",
    workload: "bench",
    createdAt: new Date().toISOString(),
    tool: { name: "volsnap", version: "bench" },
    quiesce,
    volumes: [{ index: 0, ...volume, destinations: [] }],
  };
}
