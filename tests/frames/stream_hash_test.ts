/**
 * A stream's sha256 finished from a guess (stream_hash.ts): whatever the
 * guess was, equal, a prefix, longer, different from the first frame or
 * from the middle, the digest is the real stream's.
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { hashFrames, StreamHashGuess } from "../../src/frames/stream_hash.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";
import { framedCapture, sha256Hex, streamBytes } from "./frames_helpers.ts";

Deno.test("stream hash from a guess equals the real stream's, however the guess differs", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_stream_hash_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    // Several MiB, so the guess keeps states (every 1 MiB) before and after a difference.
    for (let i = 0; i < 6; i++) {
      await Deno.writeFile(join(src, `big${i}`), pseudoRandom(3 << 20, i));
    }
    for (let i = 0; i < 50; i++) await Deno.writeFile(join(src, `s${i}`), pseudoRandom(900, i));
    const store = await FrameStore.open(join(tmp, "store"));
    const a = await framedCapture(store, src, tmp, "a");
    await Deno.writeFile(join(src, "big3"), pseudoRandom(3 << 20, 33)); // the middle differs
    const b = await framedCapture(store, src, tmp, "b", a.parent);
    const c = await framedCapture(store, src, tmp, "c"); // another manifest id: differs at frame 0
    const A = (await readFramedSnapshot(a.path)).frames;
    const B = (await readFramedSnapshot(b.path)).frames;
    const C = (await readFramedSnapshot(c.path)).frames;
    const pack = await store.newPack("probe");
    try {
      const cases: [string, typeof A, typeof A][] = [
        ["same", B, B],
        ["middle differs", A, B],
        ["first frame differs", C, B],
        ["guess is a prefix", B.slice(0, 3), B],
        ["guess is longer", B, B.slice(0, B.length - 2)],
        ["empty guess", [], B],
      ];
      for (const [name, guess, real] of cases) {
        const g = new StreamHashGuess(pack, guess);
        if (name !== "empty guess") await new Promise((r) => setTimeout(r, 50)); // let it hash
        assertEquals(await g.digest(pack, real), await hashFrames(pack, real), name);
      }
      assertEquals(await hashFrames(pack, B), await sha256Hex(await streamBytes(store, b.path)));
    } finally {
      await pack.abort();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
