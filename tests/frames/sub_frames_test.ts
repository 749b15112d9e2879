/**
 * Page-structured large files (sub_frames.ts): a page rewritten in place costs
 * a sub-frame, not a 1 MiB chunk; the stream is still the full capture's tar;
 * a damaged sub-frame of the parent is never kept.
 */
import { join } from "node:path";
import zlib from "node:zlib";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { scanZstdFrames } from "../../src/compression/zstd_frames.ts";
import {
  compressSubFrames,
  looksIncompressible,
  rawFrame,
  SUB_FRAME,
} from "../../src/frames/sub_frames.ts";
import { zstdDecode } from "./frames_helpers.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";
import { type Framed, framedCapture, incrementalRound } from "./frames_helpers.ts";

const MIB = 1024 * 1024;
const text = new TextEncoder().encode(
  Array.from({ length: 200_000 }, (_, i) => `row ${i} value=${(i * 7919) % 10007}\n`).join(""),
);

async function rewritePages(path: string, offsets: number[], seed: number) {
  const fh = await Deno.open(path, { write: true });
  for (const [i, off] of offsets.entries()) {
    await fh.seek(off, Deno.SeekMode.Start);
    await fh.write(pseudoRandom(8192, seed + i));
  }
  fh.close();
}

Deno.test("compressSubFrames keeps the parent's equal sub-frames and scanZstdFrames finds them", () => {
  const a = pseudoRandom(MIB, 1);
  const compress = (input: Uint8Array, out: Uint8Array, at: number) => {
    const z = zlib.zstdCompressSync(input, {
      params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 },
      pledgedSrcSize: input.length,
    } as zlib.ZstdOptions);
    out.set(z, at);
    return z.length;
  };
  const out = new Uint8Array(2 * MIB);
  const first = compressSubFrames(a, out, SUB_FRAME, compress);
  const parent = out.slice(0, first.outLen);
  const frames = scanZstdFrames(parent);
  assertEquals(frames?.length, MIB / SUB_FRAME);
  const b = a.slice();
  b.set(pseudoRandom(100, 2), 5 * SUB_FRAME + 10);
  const decode = (f: Uint8Array) => new Uint8Array(zlib.zstdDecompressSync(f));
  const second = compressSubFrames(b, out, SUB_FRAME, compress, { bytes: parent, decode });
  assertEquals(second.pieces.filter((p) => !p.kept).length, 1);
  assert(!second.pieces[5].kept, "the changed sub-frame is new");
  // A damaged parent sub-frame is compressed again, never kept.
  const damaged = parent.slice();
  damaged[frames![7].offset + frames![7].size - 6] ^= 0x55;
  const third = compressSubFrames(b, out, SUB_FRAME, compress, { bytes: damaged, decode });
  assert(!third.pieces[7].kept && third.pieces[8].kept, "damaged sub-frame not kept");
  assertEquals(scanZstdFrames(new Uint8Array([1, 2, 3, 4, 5, 6])), undefined);
});

Deno.test("noise is stored as raw zstd frames that zstd -d and the scanner read", async () => {
  const noise = crypto.getRandomValues(new Uint8Array(SUB_FRAME));
  assert(looksIncompressible(noise), "random bytes look incompressible");
  assert(!looksIncompressible(text.subarray(0, SUB_FRAME)), "text does not");
  // 6.9 bits a byte: zstd's entropy coding still gains 13 %, so it is compressed.
  assert(!looksIncompressible(pseudoRandom(SUB_FRAME, 11)), "skewed bytes do not");
  const out = new Uint8Array(3 * SUB_FRAME);
  const a = rawFrame(noise, out, 0);
  const b = rawFrame(noise.subarray(0, 5000), out, a);
  const frames = scanZstdFrames(out.subarray(0, a + b));
  assertEquals(frames?.map((f) => f.rawSize), [SUB_FRAME, 5000]);
  const decoded = await zstdDecode(out.subarray(0, a + b));
  assertEquals(decoded.length, SUB_FRAME + 5000);
  assert(decoded.subarray(0, SUB_FRAME).every((x, i) => x === noise[i]), "zstd -d gives the bytes");
  assertEquals(new Uint8Array(zlib.zstdDecompressSync(out.subarray(0, a))).length, SUB_FRAME);
});

Deno.test("a page rewritten inside a page-structured file stores a sub-frame, and the stream stays the full tar", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_sub_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(join(src, "db"), { recursive: true });
    const rnd = join(src, "db", "random.ibd");
    const txt = join(src, "db", "text.db");
    await Deno.writeFile(rnd, pseudoRandom(4 * MIB, 3));
    const t = new Uint8Array(4 * MIB);
    for (let o = 0; o < t.length; o += text.length) t.set(text.subarray(0, t.length - o), o);
    await Deno.writeFile(txt, t);
    await Deno.writeFile(join(src, "log.txt"), pseudoRandom(3 * MIB + 5, 4)); // not pages
    const store = await FrameStore.open(join(tmp, "store"));
    let prev: Framed = await framedCapture(store, src, tmp, "r0");
    const pages = [0, 8192, MIB + 65536, 3 * MIB + 16384 * 7];
    for (let round = 1; round <= 3; round++) {
      const offs = pages.map((p) => p + round * 2 * 8192);
      await rewritePages(rnd, offs, 100 * round);
      await rewritePages(txt, offs, 200 * round);
      const cur = await incrementalRound(store, src, tmp, `r${round}`, prev, `round ${round}`);
      // 8 pages of 8 KiB changed: each costs at most one 16 KiB sub-frame.
      const stored = cur.stats.frames.storedBytes;
      assert(stored < 8 * (SUB_FRAME + 512), `round ${round}: stored ${stored} bytes`);
      const snap = await readFramedSnapshot(cur.path);
      assert(snap.frames.some((f) => f.from !== undefined), "chunks listed as spans");
      prev = cur;
    }
    // A file grown by whole pages keeps its old pages' sub-frames too.
    const fh = await Deno.open(rnd, { append: true });
    await fh.write(pseudoRandom(3 * 4096, 9));
    fh.close();
    const grown = await incrementalRound(store, src, tmp, "r4", prev, "grown");
    assert(grown.stats.frames.storedBytes < 2 * SUB_FRAME + 1024, "only the grown tail is stored");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a damaged sub-frame of the parent is not kept: the next stream is whole", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_sub_damage_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src, { recursive: true });
    const db = join(src, "t.ibd");
    await Deno.writeFile(db, pseudoRandom(2 * MIB, 5));
    const store = await FrameStore.open(join(tmp, "store"));
    const r0 = await framedCapture(store, src, tmp, "r0");
    // Damage the third sub-frame of the file's first chunk in the pack.
    const snap = await readFramedSnapshot(r0.path);
    const chunk = snap.frames.find((f) => f.rawSize === MIB)!;
    const loc = store.get(chunk.id)!;
    const packPath = join(store.packsDir, loc.pack + ".pack");
    const pack = await Deno.readFile(packPath);
    const subs = scanZstdFrames(pack.subarray(loc.offset, loc.offset + loc.size))!;
    pack[loc.offset + subs[2].offset + 40] ^= 0xff;
    await Deno.writeFile(packPath, pack);
    await rewritePages(db, [10 * SUB_FRAME], 77);
    const r1 = await incrementalRound(store, src, tmp, "r1", r0, "after damage");
    const stored = r1.stats.frames.storedBytes;
    // Two new sub-frames: the rewritten page's and the damaged one, compressed again.
    assert(stored > 1.5 * SUB_FRAME && stored < 3 * (SUB_FRAME + 512), `stored ${stored}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("files of 64 KiB–1 MiB are frames of their own: one changed, added or deleted costs only its frame", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_own_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src, { recursive: true });
    for (let i = 0; i < 24; i++) {
      await Deno.writeFile(join(src, `f${i}.bin`), pseudoRandom(100_000 + i * 1000, i));
    }
    const store = await FrameStore.open(join(tmp, "store"));
    const r0 = await framedCapture(store, src, tmp, "r0");
    await Deno.writeFile(join(src, "f5.bin"), pseudoRandom(100_000, 99));
    await Deno.writeFile(join(src, "f11.new"), pseudoRandom(90_000, 98));
    await Deno.remove(join(src, "f17.bin"));
    const r1 = await incrementalRound(store, src, tmp, "r1", r0, "own frames");
    // Two new files' frames (≈ 0.87 × 100 KB each) and, at most, two small header frames.
    const stored = r1.stats.frames.storedBytes;
    assert(stored < 2.2 * 100_000, `stored ${stored}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
