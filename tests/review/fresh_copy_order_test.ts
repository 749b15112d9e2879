/**
 * After a damaged pack is found, a `fresh` capture stores its own copy of
 * every frame and drops the older copies from their packs' indexes. Index
 * mtimes out of order (clock stepped back, frames/ copied without keeping
 * mtimes) must then not let a damaged copy win again after a restart, and
 * compaction must not delete the good copies as duplicates.
 */
import { join } from "node:path";
import { assert } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { captureFrames } from "../../src/frames/frame_writer.ts";
import { compactFrames } from "../../src/frames/compact.ts";
import { draft } from "../pack/writer_helpers.ts";
import { framedCapture, sha256Hex, streamBytes } from "../frames/frames_helpers.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";

async function streams(store: FrameStore, path: string): Promise<boolean> {
  try {
    const bytes = await streamBytes(store, path);
    const snap = await readFramedSnapshot(path);
    if ((await sha256Hex(bytes)) !== snap.sha256) return false;
    const p = new Deno.Command("zstd", { args: ["-t", "-q"], stdin: "piped", stderr: "null" })
      .spawn();
    const w = p.stdin.getWriter();
    await w.write(bytes);
    await w.close();
    return (await p.status).success;
  } catch {
    return false;
  }
}

Deno.test("a fresh capture's good copies survive a restart and compaction whatever the idx mtimes", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_rev_fresh_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    for (let i = 0; i < 400; i++) await Deno.writeFile(join(src, `f${i}`), pseudoRandom(3000, i));
    const archives = join(tmp, "archives");
    await Deno.mkdir(archives);
    const storeDir = join(tmp, "store");
    const packs = join(storeDir, "packs");
    let store = await FrameStore.open(storeDir);
    await framedCapture(store, src, archives, "s1");
    const damaged = [...Deno.readDirSync(packs)].map((e) => e.name).filter((n) =>
      n.endsWith(".pack")
    );
    assert(damaged.length === 1);
    // Damage s1's pack (as damaged_parent_test.ts does).
    const p = join(packs, damaged[0]);
    const b = await Deno.readFile(p);
    for (let i = 4096; i < b.length; i += 97) b[i] ^= 0xff;
    await Deno.writeFile(p, b);
    // What archive_job does after a ParentFrameError: a full capture, fresh pack.
    await Deno.remove(join(archives, "s1.frames")); // (keeps the test about s2 only)
    const s2 = join(archives, "s2.frames");
    const c = await captureFrames({
      store,
      finalPath: s2,
      manifest: { ...draft(), snapshotId: "s2" },
      sources: [{ index: 0, hostPath: src }],
      fresh: true,
    });
    await c.finalize();
    assert(await streams(store, s2), "s2 streams right after capture");
    // The damaged pack's index ends up "newer" (clock stepped back, or a copy of frames/).
    const oldIdx = join(packs, damaged[0].replace(/\.pack$/, ".idx"));
    const later = new Date(Date.now() + 60_000);
    await Deno.utime(oldIdx, later, later);
    store = await FrameStore.open(storeDir);
    const afterRestart = await streams(store, s2);
    const r = await compactFrames(store, { archives, orphans: join(tmp, "orphans") });
    // Put the mtimes right again: is the good copy still there?
    const now = new Date(Date.now() - 60_000);
    await Deno.utime(oldIdx, now, now).catch(() => {});
    store = await FrameStore.open(storeDir);
    const afterCompaction = await streams(store, s2);
    assert(
      afterRestart && afterCompaction,
      `s2 streams after restart: ${afterRestart}; after compaction (${JSON.stringify(r)}) ` +
        `and mtimes put right: ${afterCompaction}`,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
