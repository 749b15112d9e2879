import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { demuxRawStream } from "../../src/docker/exec.ts";
import { concatBytes } from "../../src/core/bytes.ts";

function frame(stream: number, text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

/** Splits `bytes` into chunks of `size` so frame headers straddle chunk borders. */
function streamOf(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let o = 0;
  return new ReadableStream({
    pull(c) {
      if (o >= bytes.length) return c.close();
      c.enqueue(bytes.slice(o, o + size));
      o += size;
    },
  });
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("demuxRawStream() joins stdout and stderr frames in order at any chunking", async (t) => {
  const bytes = concatBytes([
    frame(1, "hello "),
    frame(2, "warn "),
    frame(1, ""),
    frame(1, "world"),
  ]);
  for (const size of [1, 3, 7, 8, 9, 64, 4096]) {
    await t.step(`chunks of ${size} bytes`, async () => {
      const r = await demuxRawStream(streamOf(bytes, size), 1024);
      assertEquals(text(r.output), "hello warn world");
      assertEquals(r.truncated, false);
      assertEquals(r.totalBytes, 16);
    });
  }
});

Deno.test("demuxRawStream() keeps at most maxBytes and still drains the rest", async () => {
  const big = "y".repeat(10_000);
  let pulled = 0;
  const src = streamOf(concatBytes([frame(1, big), frame(2, big)]), 1000);
  const counted = src.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(c, ctl) {
        pulled += c.length;
        ctl.enqueue(c);
      },
    }),
  );
  const r = await demuxRawStream(counted, 4096);
  assertEquals(r.output.length, 4096);
  assertEquals(r.truncated, true);
  assertEquals(r.totalBytes, 20_000);
  assertEquals(pulled, 20_016, "stream was not drained to its end");
});

Deno.test("demuxRawStream() rejects a stream cut inside a frame header", async () => {
  const bytes = concatBytes([frame(1, "ok"), frame(1, "next").slice(0, 5)]);
  const err = await assertRejects(() => demuxRawStream(streamOf(bytes, 4), 100));
  assert(String(err).includes("frame header"));
});
