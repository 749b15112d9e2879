/**
 * Review of the pre-copy (src/pack/live_copy.ts): a file's ctime and mtime
 * are set when a write() STARTS; the kernel then copies the caller's buffer
 * into the page cache page by page. A write that began more than the racy
 * margin (50 ms) before the pre-copy and is still copying while the pre-copy
 * reads the file leaves the pre-copy with a torn copy whose identity (dev,
 * inode, size, mtime, ctime) is exactly what the file has once the write
 * completes: the pass with the app stopped takes the torn copy as unchanged.
 *
 * A long write is ordinary (balance_dirty_pages throttling, a large pwrite, a
 * source buffer that faults from slow storage); here its buffer's second half
 * is registered with userfaultfd (slow_writer.c) so the write waits inside the
 * syscall for 1.5 s (buffered, and O_DIRECT). Needs root (userfaultfd of kernel faults) and gcc.
 */
import { join } from "node:path";
import { assert } from "../_helpers/assert.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { buildC, lineChild, MiB, precopy, sleep, stoppedPass } from "./precopy_helpers.ts";

async function inflight(direct: boolean) {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_review_inflight_" });
  const writers: ReturnType<typeof lineChild>[] = [];
  try {
    const bin = await buildC("slow_writer.c", tmp);
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    // A large file (referenced by chunk) and a small one (copied out of a group frame).
    await Deno.writeFile(join(src, "db"), new Uint8Array(2 * MiB).fill(0x6f));
    await Deno.writeFile(join(src, "small"), new Uint8Array(64 * 1024).fill(0x6f));
    await new Deno.Command("sync").output(); // O_DIRECT: overwrites of allocated blocks
    await sleep(200);
    const store = await FrameStore.open(join(tmp, "store"));
    for (const [name, byte] of [["db", 78], ["small", 77]] as const) {
      // The write goes on by itself 1.5 s after it started (the pre-copy is done by then,
      // unless it waits for the write to end).
      const w = lineChild(bin, [
        join(src, name),
        String(byte),
        "1500",
        ...(direct ? ["direct"] : []),
      ]);
      writers.push(w);
      assert((await w.line()) === "blocked", "the write did not start");
    }
    // The writes started (their time stamps are set) well before the pre-copy's margin.
    await sleep(150);
    const pre = await precopy(store, src, tmp, "s1");
    // The app's writes complete before it is stopped.
    for (const w of writers) {
      assert((await w.line()) === "done", "the write did not finish");
      assert((await w.status()).success);
    }
    await stoppedPass(store, src, tmp, "s1", pre);
  } finally {
    for (const w of writers) await w.close();
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("review: a write in flight across the pre-copy's read is not reused as unchanged", async () => {
  await inflight(false);
});

// Not closed by waiting for the inode's lock: an O_DIRECT overwrite holds it
// shared (and an AIO one not at all once queued). The buffered read sees the
// old data until the write ends, and the write set the time stamps first.
Deno.test("review: an O_DIRECT write in flight across the pre-copy's read is not reused as unchanged", async () => {
  await inflight(true);
});
