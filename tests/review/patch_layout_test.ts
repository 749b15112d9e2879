/**
 * Review finding: a patch frame was named by its chunk and which sub-frames it
 * holds, not by where each sits in it. A patch stored before with the same
 * name and total size but another layout (another zstd build compressing the
 * same pages differently) was taken, and the new chunk's spans pointed into
 * the middle of its sub-frames: a snapshot whose stream is not its tar.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { PackReader } from "../../src/frames/frame_reader.ts";
import { keepSubFrames } from "../../src/frames/sub_frame_spans.ts";
import type { FrameResult } from "../../src/frames/frame_pool.ts";
import { equalBytes } from "../frames/frames_helpers.ts";

Deno.test("patch_layout: a stored patch of the same chunk and indexes but another layout is not referenced", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_review_patch_" });
  try {
    const store = await FrameStore.open(join(tmp, "store"));
    // The parent's chunk: one stored frame of two "sub-frames" (bytes are opaque here).
    const parentBytes = new Uint8Array(300).fill(7);
    const setup = await store.newPack("parent");
    await setup.append("c".repeat(64), parentBytes, 2 * 16384);
    await setup.commit();
    const oldChunk = [{ id: "c".repeat(64), size: 300, rawSize: 2 * 16384 }];
    const chunkSha = new Uint8Array(32).fill(1);
    // Sub-frames 0 and 2 new, 1 kept; new output of 100 + 200 bytes, or 200 + 100.
    const result = (a: number, b: number, fill: number): FrameResult => {
      const out = new Uint8Array(300);
      out.fill(fill, 0, a);
      out.fill(fill + 1, a);
      return {
        id: "x",
        buf: new ArrayBuffer(0),
        out: out.buffer,
        outLen: 300,
        pieces: [
          { kept: false, offset: 0, size: a, rawSize: 16384 },
          { kept: true, offset: 0, size: 150, rawSize: 16384 },
          { kept: false, offset: a, size: b, rawSize: 16384 },
        ],
      };
    };
    const stats = { newFrames: 0, storedBytes: 0, sharedBytes: 0 };
    const pack = await store.newPack("capture");
    const o = { pack, level: 3 };
    const len = 3 * 16384;
    const first = result(100, 200, 1);
    await keepSubFrames(o, stats, first, len, chunkSha, 16384, oldChunk, [0]);
    const second = result(200, 100, 3);
    const refs = await keepSubFrames(o, stats, second, len, chunkSha, 16384, oldChunk, [0]);
    await pack.commit();
    const reader = new PackReader(store);
    try {
      const want = new Uint8Array(second.out!, 0, 300);
      // Sub-frame 0's span must hold the second output's first 200 bytes.
      const s0 = refs[0];
      assertEquals(s0.size, 200);
      const got = await reader.read(reader.location(s0));
      assert(
        equalBytes(got, want.subarray(0, 200)),
        "sub-frame 0's span is another layout's bytes",
      );
    } finally {
      reader.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
