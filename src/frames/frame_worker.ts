/**
 * Frame worker: names a frame (sha256 of the settings tag and its bytes) and,
 * when asked, compresses it into one complete zstd frame with a content
 * checksum. Input and output buffers are transferred back and forth, so the
 * steady state allocates nothing; a pool of these uses every core.
 */
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { frameTag } from "./frame_id.ts";

export interface FrameRequest {
  seq: number;
  level: number;
  /** Uncompressed frame bytes (transferred). */
  buf: ArrayBuffer;
  len: number;
  /** Output buffer (transferred), at least compressBound(len) + 64 KiB; absent: only hash. */
  out?: ArrayBuffer;
}

export type FrameReply =
  | { seq: number; buf: ArrayBuffer; id: string; out?: ArrayBuffer; outLen: number }
  | { seq: number; error: string };

interface ZHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
}

interface WorkerScope {
  onmessage: ((e: MessageEvent<FrameRequest>) => void) | null;
  postMessage(msg: FrameReply, transfer: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
const Z = zlib.constants;
const handles = new Map<number, { handle: ZHandle; state: Uint32Array }>();

function handleFor(level: number) {
  let h = handles.get(level);
  if (!h) {
    const s = zlib.createZstdCompress({
      params: { [Z.ZSTD_c_compressionLevel]: level, [Z.ZSTD_c_checksumFlag]: 1 },
    }) as unknown as { _handle?: ZHandle; _writeState?: Uint32Array };
    if (!s._handle || !s._writeState) throw new Error("zlib handle API not available");
    h = { handle: s._handle, state: s._writeState };
    handles.set(level, h);
  }
  return h;
}

function compress(level: number, input: Uint8Array, out: Uint8Array): number {
  const h = handleFor(level);
  h.handle.writeSync(Z.ZSTD_e_end, input, 0, input.length, out, 0, out.length);
  const availOut = h.state[0];
  const left = h.state[1];
  h.handle.reset();
  if (left !== 0 || availOut === 0) throw new Error("frame output buffer too small");
  return out.length - availOut;
}

scope.onmessage = (e) => {
  const r = e.data;
  try {
    const input = new Uint8Array(r.buf, 0, r.len);
    const id = createHash("sha256").update(frameTag(r.level)).update(input).digest("hex");
    const outLen = r.out ? compress(r.level, input, new Uint8Array(r.out)) : 0;
    const transfer: Transferable[] = [r.buf];
    if (r.out) transfer.push(r.out);
    scope.postMessage({ seq: r.seq, buf: r.buf, id, out: r.out, outLen }, transfer);
  } catch (err) {
    scope.postMessage({ seq: r.seq, error: String(err) }, []);
  }
};
