/**
 * Pre-copy (src/pack/live_copy.ts, SPEC §15): a pass over the volumes while
 * the app still runs, then the pass with the app stopped, incremental
 * against it. Whatever changes between the two passes, through write(),
 * truncation, a same-size rewrite with its mtime put back, or a shared
 * memory mapping, the second pass's stream must be exactly what a full
 * capture gives; and what did not change must not be read again.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { changedTooRecently } from "../../src/pack/live_copy.ts";
import { framedCapture, rowsText } from "./frames_helpers.ts";
import { precopy, stoppedPass } from "./precopy_helpers.ts";

const MiB = 1 << 20;

function pages(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let off = 0; off < n; off += rowsText.length) {
    b.set(rowsText.subarray(0, Math.min(rowsText.length, n - off)), off);
  }
  b.set(pseudoRandom(4096, seed), 4096 * (seed % 16));
  return b;
}

async function run(cmd: string, args: string[]) {
  const r = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!r.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(r.stderr)}`);
}

const settle = () => new Promise((r) => setTimeout(r, 150)); // past the racy margin

Deno.test("pre-copy: changes between the passes are in the snapshot, the rest is not read again", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_precopy_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(join(src, "app"), { recursive: true });
    for (let i = 0; i < 200; i++) {
      await Deno.writeFile(join(src, "app", `f${i}`), pseudoRandom(100 + i * 97, i));
    }
    await Deno.writeFile(join(src, "db1"), pages(4 * MiB, 1));
    await Deno.writeFile(join(src, "db2"), pages(4 * MiB, 2));
    await Deno.writeFile(join(src, "blob"), pseudoRandom(3 * MiB + 100, 3)); // not whole pages: 1 MiB chunks
    const store = await FrameStore.open(join(tmp, "store"));
    const s0 = await framedCapture(store, src, tmp, "s0");

    // Changed since the parent: the pre-copy reads these, the app still running.
    const db1 = await Deno.open(join(src, "db1"), { write: true });
    await db1.seek(8192 * 40, Deno.SeekMode.Start);
    await db1.write(pseudoRandom(8192, 41));
    db1.close();
    await Deno.writeFile(join(src, "app/f7"), pseudoRandom(5000, 77));
    await settle();
    const pre = await precopy(store, src, tmp, "s1", s0.parent);
    assert(pre.storedBytes > 0, "the pre-copy stored the changed data");
    assert(pre.parent.snap.files.some((f) => f.path.endsWith("/db1")), "db1 is reusable");

    // Changed between the passes (the app wrote on until it was stopped).
    const db2 = await Deno.open(join(src, "db2"), { write: true });
    await db2.seek(8192 * 100, Deno.SeekMode.Start);
    await db2.write(pseudoRandom(8192, 101));
    db2.close();
    const st = await Deno.stat(join(src, "app/f9"));
    await Deno.writeFile(join(src, "app/f9"), pseudoRandom(st.size, 999)); // same size
    await run("touch", ["-m", "-d", `@${st.mtime!.getTime() / 1000}`, join(src, "app/f9")]);
    await Deno.truncate(join(src, "app/f11"), 10);
    await Deno.remove(join(src, "app/f12"));
    await Deno.writeFile(join(src, "app/new"), pseudoRandom(777, 5));
    const f = await Deno.open(join(src, "blob"), { append: true });
    await f.write(pseudoRandom(1000, 6));
    f.close();

    const s1 = await stoppedPass(store, src, tmp, "s1", pre);
    // db1 (4 MiB) was read by the pre-copy only; db2 and blob changed and are read again.
    assert(s1.stats.frames.reusedRawBytes >= 4 * MiB, `reused ${s1.stats.frames.reusedRawBytes}`);
    assert(s1.stats.frames.storedBytes < MiB, `stored ${s1.stats.frames.storedBytes}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("pre-copy: a file changed just before it started is read again by the next pass", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_precopy_racy_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    await Deno.writeFile(join(src, "old"), pseudoRandom(3000, 1));
    await Deno.writeFile(join(src, "big-old"), pseudoRandom(2 * MiB, 2));
    await settle();
    // Within the clock's margin of the pre-copy's start: an unchanged ctime proves nothing.
    await Deno.writeFile(join(src, "recent"), pseudoRandom(3000, 3));
    await Deno.writeFile(join(src, "big-recent"), pseudoRandom(2 * MiB, 4));
    const store = await FrameStore.open(join(tmp, "store"));
    const pre = await precopy(store, src, tmp, "s1");
    const names = pre.parent.snap.files.map((f) => f.path.split("/").pop()).sort();
    assertEquals(names, ["big-old", "old"]);
    await stoppedPass(store, src, tmp, "s1", pre);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("pre-copy: the racy margin", () => {
  const t = 1_800_000_000_000;
  assert(changedTooRecently(t + 5.25, t), "after the start");
  assert(changedTooRecently(t - 10.5, t), "within 50 ms");
  assert(!changedTooRecently(t - 60.5, t), "60 ms before");
  assert(changedTooRecently(t - 1000, t), "whole seconds: within 2 s");
  assert(!changedTooRecently(t - 3000, t), "whole seconds: 3 s before");
});

// A page dirtied through a shared mapping stays writable until written back,
// and writing to it again sets no time stamp: without the write-back before
// reading, the pass with the app stopped would take the stale copy.
const MMAP_WRITER = `
import mmap, sys
# One write per line (PYTHONUNBUFFERED=1 makes print() write the newline apart:
# the test reads a chunk as a line).
def say(line):
    sys.stdout.write(line + "\\n")
    sys.stdout.flush()
maps = []
for path in sys.argv[1:]:
    f = open(path, "r+b")
    m = mmap.mmap(f.fileno(), 0)
    m[0:8] = b"AAAAAAAA"
    maps.append(m)
say("dirty")
sys.stdin.readline()
for m in maps:
    m[8:16] = b"BBBBBBBB"
    m.close()
say("done")
`;

Deno.test("pre-copy: writes through a shared mapping after it are in the snapshot", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_precopy_mmap_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    await Deno.writeFile(join(src, "small"), pseudoRandom(64 * 1024, 1));
    await Deno.writeFile(join(src, "large"), pseudoRandom(3 * MiB, 2));
    await run("sync", []);
    const store = await FrameStore.open(join(tmp, "store"));
    const child = new Deno.Command("python3", {
      args: ["-c", MMAP_WRITER, join(src, "small"), join(src, "large")],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const stdin = child.stdin.getWriter();
    try {
      assertEquals((await lines.read()).value?.trim(), "dirty");
      await settle();
      const pre = await precopy(store, src, tmp, "s1");
      assertEquals(pre.parent.snap.files.length, 2, "both files reusable after the pre-copy");
      await stdin.write(new TextEncoder().encode("go\n"));
      assertEquals((await lines.read()).value?.trim(), "done");
      assert((await child.status).success, "mmap writer failed");
      const bytes = await Deno.readFile(join(src, "large"));
      assertEquals(new TextDecoder().decode(bytes.subarray(0, 16)), "AAAAAAAABBBBBBBB");
      await stoppedPass(store, src, tmp, "s1", pre);
    } finally {
      await stdin.close().catch(() => {});
      await lines.cancel().catch(() => {});
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
