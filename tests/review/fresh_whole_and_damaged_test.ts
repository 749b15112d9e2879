/**
 * Review of a054243 (variant ids for fresh copies of span targets); both
 * failed on it and pass since a fresh copy of another size always gets a
 * variant id and an older copy that does not decode is replaced (repaired).
 *
 * 1. A whole-referenced frame (not a span target: a group frame, a chunk not
 *    stored as sub-frames) stored by "another zstd build" (played, like
 *    fresh_layout_test.ts, by a level-1 copy under the level-3 id) is still
 *    replaced by a fresh capture's copy of another size: every other
 *    snapshot's whole reference {id, size} then fails refLocation, and the
 *    old copy, indexed out by supersede, is dead bytes compaction removes.
 * 2. A sub-frame chunk whose stored copy is damaged in a way that changes its
 *    scanned layout (here: a corrupted zstd magic; a truncated pack gives the
 *    same) is no longer repaired by the fresh capture (before a054243 the
 *    fresh copy, same build so same layout, superseded it): the damaged copy
 *    keeps the canonical id, the old snapshot stays unreadable, and a later
 *    ordinary capture of the same content dedupes onto the damaged copy.
 */
import { join } from "node:path";
import zlib from "node:zlib";
import { assert } from "../_helpers/assert.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { CHUNK } from "../../src/frames/cutter.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";
import {
  equalBytes,
  framedCapture,
  freshCapture,
  fullTar,
  rowsText,
  streamBytes,
  zstdDecode,
} from "../frames/frames_helpers.ts";

const text = rowsText;

async function readable(store: FrameStore, path: string, tar: Uint8Array): Promise<string> {
  try {
    const got = await zstdDecode(await streamBytes(store, path));
    return equalBytes(got, tar) ? "ok" : "wrong bytes";
  } catch (err) {
    return `unreadable: ${err instanceof Error ? err.message : err}`;
  }
}

Deno.test("review: a fresh copy of another size of a whole-referenced frame gets a variant id; other snapshots stay whole", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_review_whole_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    // Small files (group frames) and a large non-page file (whole chunk frames).
    for (let i = 0; i < 20; i++) {
      await Deno.writeFile(join(src, `f${i}.txt`), text.subarray(i * 3000, i * 3000 + 2500));
    }
    await Deno.writeFile(join(src, "big.log"), text.subarray(0, 2 * CHUNK));
    // Learn the frames a capture makes, in a scratch store.
    const scratch = await FrameStore.open(join(tmp, "scratch"));
    const probe = await framedCapture(scratch, src, tmp, "probe");
    const frames = (await readFramedSnapshot(probe.path)).frames;

    // "Another build": the store already holds every one of them, laid out otherwise.
    const store = await FrameStore.open(join(tmp, "store"));
    const seed = await store.newPack("other-build");
    const { PackReader } = await import("../../src/frames/frame_reader.ts");
    const reader = new PackReader(scratch);
    for (const f of frames) {
      const raw = new Uint8Array(zlib.zstdDecompressSync(await reader.read(reader.location(f))));
      const other = new Uint8Array(zlib.zstdCompressSync(raw, {
        params: {
          [zlib.constants.ZSTD_c_compressionLevel]: 1,
          [zlib.constants.ZSTD_c_checksumFlag]: 1,
        },
        pledgedSrcSize: raw.length,
      } as zlib.ZstdOptions));
      await seed.append(f.id, other, raw.length);
    }
    reader.close();
    await seed.commit();

    const s1 = await framedCapture(store, src, tmp, "s1");
    const tar = await fullTar(src, tmp, "s1");
    assert((await readable(store, s1.path, tar)) === "ok", "s1 streams before");

    // A fresh capture (after a damaged parent) of the same data.
    await freshCapture(store, src, tmp, "s2");
    const verdict = await readable(store, s1.path, tar);
    assert(verdict === "ok", `s1 after a fresh capture: ${verdict}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("review: a sub-frame chunk damaged in its headers is still repaired by a fresh capture", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_review_dmg_" });
  try {
    const store = await FrameStore.open(join(tmp, "store"));
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    const file = text.slice(0, 2 * CHUNK);
    await Deno.writeFile(join(src, "table.db"), file);
    const s1 = await framedCapture(store, src, tmp, "s1");
    const tar1 = await fullTar(src, tmp, "s1");
    // The largest frame is a chunk stored as sub-frames; corrupt its first sub-frame's magic.
    const list = (await readFramedSnapshot(s1.path)).frames;
    const big = list.reduce((a, b) => (b.rawSize > a.rawSize ? b : a));
    const loc = store.get(big.id)!;
    const fh = await Deno.open(join(store.packsDir, loc.pack + ".pack"), {
      read: true,
      write: true,
    });
    await fh.seek(loc.offset, Deno.SeekMode.Start);
    await fh.write(new Uint8Array([0, 0, 0, 0]));
    fh.close();
    assert((await readable(store, s1.path, tar1)) !== "ok", "s1 is damaged now");

    // The fresh capture (what archive_job does after a ParentFrameError) of the same data.
    await freshCapture(store, src, tmp, "s2");
    // Reopen the store as after a restart: what is findable is what the indexes say.
    const reopened = await FrameStore.open(join(tmp, "store"));
    const s1After = await readable(reopened, s1.path, tar1);

    // A later ordinary capture of the same content under another name (a copy of the table).
    const src3 = join(tmp, "src3");
    await Deno.mkdir(src3);
    await Deno.writeFile(join(src3, "table.db"), file);
    const s3 = await framedCapture(reopened, src3, tmp, "s3");
    const s3After = await readable(reopened, s3.path, await fullTar(src3, tmp, "s3"));
    assert(
      s1After === "ok" && s3After === "ok",
      `after the fresh capture: s1 ${s1After}; a new capture s3 of the same content: ${s3After}`,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
