/**
 * Decoder for Docker's multiplexed raw stream (`application/vnd.docker.raw-stream`,
 * returned by exec start / attach when Tty is false). Each frame is an 8-byte
 * header `[stream, 0, 0, 0, size(be32)]` followed by `size` bytes of payload.
 */

export interface DemuxResult {
  /** stdout and stderr interleaved in arrival order, capped at `maxBytes`. */
  output: Uint8Array;
  /** True when more payload arrived than was kept. */
  truncated: boolean;
  /** Total payload bytes seen (kept or not). */
  totalBytes: number;
}

/**
 * Reads `body` to its end and collects frame payloads up to `maxBytes`.
 * Bytes past the cap are read and dropped so the stream still drains, which
 * keeps memory bounded whatever the command prints.
 * @throws Error when the stream ends in the middle of a frame header.
 */
export async function demuxRawStream(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<DemuxResult> {
  const kept = new Uint8Array(maxBytes);
  let keptLen = 0;
  let totalBytes = 0;
  const header = new Uint8Array(8);
  let headerLen = 0;
  let frameLeft = 0; // payload bytes still to come in the current frame

  for await (const chunk of body) {
    let i = 0;
    while (i < chunk.length) {
      if (frameLeft === 0) {
        const take = Math.min(8 - headerLen, chunk.length - i);
        header.set(chunk.subarray(i, i + take), headerLen);
        headerLen += take;
        i += take;
        if (headerLen === 8) {
          frameLeft = new DataView(header.buffer).getUint32(4);
          headerLen = 0;
        }
        continue;
      }
      const take = Math.min(frameLeft, chunk.length - i);
      const room = Math.min(take, maxBytes - keptLen);
      if (room > 0) {
        kept.set(chunk.subarray(i, i + room), keptLen);
        keptLen += room;
      }
      totalBytes += take;
      frameLeft -= take;
      i += take;
    }
  }
  if (headerLen !== 0) throw new Error("raw stream ended inside a frame header");
  return { output: kept.slice(0, keptLen), truncated: totalBytes > keptLen, totalBytes };
}
