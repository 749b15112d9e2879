/**
 * SIGKILL during incremental capture and during compaction, at each named
 * fault point and at random moments: afterwards every frame list on disk
 * streams whole (all frames present, recorded sha256, the full capture's
 * tar), the store opens and sweeps its leftovers, and the next capture and
 * compaction work.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { compactFrames } from "../../src/frames/compact.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";
import { isTempName } from "../../src/fs/durable.ts";
import { framedCapture, sha256Hex, streamBytes } from "./frames_helpers.ts";

const CHILD = new URL("./kill_child.ts", import.meta.url).pathname;

async function setup(): Promise<{ root: string; src: string; base: string }> {
  const root = await Deno.makeTempDir({ prefix: "volsnap_fkill_" });
  const src = join(root, "src");
  await Deno.mkdir(join(src, "db"), { recursive: true });
  for (let i = 0; i < 4; i++) {
    await Deno.writeFile(join(src, "db", `t${i}`), pseudoRandom(3 << 20, i));
  }
  for (let i = 0; i < 40; i++) await Deno.writeFile(join(src, `s${i}`), pseudoRandom(9000, 10 + i));
  await Deno.mkdir(join(root, "archives"));
  const store = await FrameStore.open(join(root, "store"));
  const base = (await framedCapture(store, src, join(root, "archives"), "base")).path;
  // Change most of the data, so a second snapshot has many new frames.
  for (let i = 0; i < 3; i++) {
    await Deno.writeFile(join(src, "db", `t${i}`), pseudoRandom(3 << 20, 50 + i));
  }
  // …and a few pages of the last one, so chunks keep sub-frames of the base's (spans).
  const fh = await Deno.open(join(src, "db", "t3"), { write: true });
  for (const off of [8192, (1 << 20) + 40960, (2 << 20) + 16384]) {
    await fh.seek(off, Deno.SeekMode.Start);
    await fh.write(pseudoRandom(8192, off));
  }
  fh.close();
  return { root, src, base };
}

/** Every frame list streams whole from a freshly opened store; no leftovers. */
async function checkWhole(root: string): Promise<number> {
  const store = await FrameStore.open(join(root, "store"));
  for (const n of Deno.readDirSync(store.packsDir)) {
    assert(!isTempName(n.name), `leftover ${n.name}`);
    if (n.name.endsWith(".pack")) {
      assert(Deno.statSync(join(store.packsDir, n.name.replace(/\.pack$/, ".idx"))).isFile);
    }
  }
  let lists = 0;
  for (const e of Deno.readDirSync(join(root, "archives"))) {
    if (isTempName(e.name)) continue;
    const path = join(root, "archives", e.name);
    const snap = await readFramedSnapshot(path);
    assertEquals(await sha256Hex(await streamBytes(store, path)), snap.sha256, `${e.name} whole`);
    lists++;
  }
  return lists;
}

async function runChild(args: string[], killAfterMs?: number): Promise<Deno.CommandStatus> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", CHILD, ...args],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errText = new Response(child.stderr).text();
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (killAfterMs !== undefined) {
    timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }, killAfterMs);
  }
  const st = await child.status;
  clearTimeout(timer);
  const err = await errText;
  if (!st.success && st.signal !== "SIGKILL") throw new Error(`child failed: ${err}`);
  return st;
}

const CAPTURE_POINTS = ["frames.pack-written", "frames.pack-committed", "frames.list-written"];
const COMPACT_POINTS = [
  "compact.copied",
  "frames.pack-written",
  "compact.new-pack-durable",
  "compact.pack-removed",
];

Deno.test("SIGKILL during incremental capture (named points and random) leaves every snapshot whole", async () => {
  const { root, src, base } = await setup();
  try {
    const points = [...CAPTURE_POINTS, "none", "none", "none"];
    for (const [i, point] of points.entries()) {
      const delay = point === "none" ? 200 + Math.floor(Math.random() * 2500) : undefined;
      const st = await runChild(["capture", point, root, src, base, `c${i}`], delay);
      const lists = await checkWhole(root);
      if (point === "frames.list-written") assertEquals(st.signal, "SIGKILL");
      assert(lists >= 1, "the parent stays whole");
    }
    // The store still takes a capture and compacts.
    const store = await FrameStore.open(join(root, "store"));
    await framedCapture(store, src, join(root, "archives"), "after");
    await compactFrames(store, { archives: join(root, "archives"), orphans: join(root, "o") });
    await checkWhole(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("SIGKILL during compaction (named points and random) leaves every snapshot whole", async () => {
  const points = [...COMPACT_POINTS, "none"];
  for (const point of points) {
    const { root, src } = await setup();
    try {
      const store = await FrameStore.open(join(root, "store"));
      await framedCapture(store, src, join(root, "archives"), "mid");
      // "gone" holds a file no other snapshot has: its whole pack dies with it.
      await Deno.writeFile(join(src, "extra"), pseudoRandom(3 << 20, 77));
      await framedCapture(store, src, join(root, "archives"), "gone");
      await Deno.remove(join(src, "extra"));
      const keep = await framedCapture(store, src, join(root, "archives"), "keep");
      // Pruned: base (most of its pack dead, so compaction rewrites it) and gone.
      await Deno.remove(join(root, "archives", "base.frames"));
      await Deno.remove(join(root, "archives", "gone.frames"));
      const delay = point === "none" ? Math.floor(Math.random() * 600) : undefined;
      const st = await runChild(["compact", point, root, "", "", ""], delay);
      if (point !== "none") assertEquals(st.signal, "SIGKILL", `killed at ${point}`);
      assertEquals(await checkWhole(root), 2);
      // A later compaction finishes the job; the kept snapshot stays whole.
      const again = await FrameStore.open(join(root, "store"));
      await compactFrames(again, { archives: join(root, "archives"), orphans: join(root, "o") });
      assertEquals(await checkWhole(root), 2);
      const live = new Set((await readFramedSnapshot(keep.path)).frames.map((f) => f.id));
      const mid = await readFramedSnapshot(join(root, "archives", "mid.frames"));
      for (const f of mid.frames) live.add(f.id);
      const fresh = await FrameStore.open(join(root, "store"));
      for (const [id] of fresh.entries()) {
        assert(live.has(id), `dead frame ${id} left after compaction`);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  }
});
