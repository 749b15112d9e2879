/**
 * Frame worker: names a frame (sha256 of the settings tag and its bytes) and,
 * when asked, compresses it into one complete zstd frame with a content
 * checksum. Input and output buffers are transferred back and forth, so the
 * steady state allocates nothing; a pool of these uses every core.
 */
import zlib from "node:zlib";
import { frameId } from "./frame_id.ts";
import { openZlibHandle, type ZHandle } from "../compression/zlib_handle.ts";

export interface FrameRequest {
  seq: number;
  level: number;
  /** Uncompressed frame bytes (transferred). */
  buf: ArrayBuffer;
  len: number;
  /** Output buffer (transferred), at least compressBound(len) + 64 KiB; absent: only hash. */
  out?: ArrayBuffer;
  /** The frame's id when the caller already computed it (then it is not hashed here). */
  id?: string;
}

export type FrameReply =
  | { seq: number; buf: ArrayBuffer; id: string; out?: ArrayBuffer; outLen: number }
  | { seq: number; error: string };

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
    h = openZlibHandle("zstd", level);
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
    const id = r.id ?? frameId(r.level, input);
    const outLen = r.out ? compress(r.level, input, new Uint8Array(r.out)) : 0;
    const transfer: Transferable[] = [r.buf];
    if (r.out) transfer.push(r.out);
    scope.postMessage({ seq: r.seq, buf: r.buf, id, out: r.out, outLen }, transfer);
  } catch (err) {
    scope.postMessage({ seq: r.seq, error: String(err) }, []);
  }
};
