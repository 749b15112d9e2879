/**
 * Compression worker: one persistent zstd or gzip context, fed batch by batch.
 *
 * It drives the zlib handle's `writeSync` directly with caller-owned input and
 * output buffers (both transferred back and forth), so the steady state
 * allocates nothing: the one-shot `zstdCompressSync` left ~70 MiB of garbage
 * per worker. A batch with `end: true` ends the frame (zstd) or member (gzip)
 * and resets the context for the next one.
 *
 * `_handle` is node:zlib's internal binding, not a public API: every new
 * context round-trips a probe through it first and fails with a clear message
 * (naming the way out) instead of writing a corrupt archive if a Deno upgrade
 * changed it.
 */
import zlib from "node:zlib";
import { HANDLE_CHANGED, openZlibHandle, type ZHandle } from "./zlib_handle.ts";

export type CompressKind = "zstd" | "gzip";

export interface WorkerRequest {
  id: number;
  kind: CompressKind;
  level: number;
  /** Input batch (transferred); may be empty when only ending the stream. */
  buf: ArrayBuffer;
  len: number;
  /** Output buffer to fill (transferred); must hold compressBound(len) + 64 KiB. */
  out: ArrayBuffer;
  end: boolean;
}

export type WorkerReply =
  | { id: number; buf: ArrayBuffer; out: ArrayBuffer; outLen: number; extra: ArrayBuffer[] }
  | { id: number; error: string };

interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(msg: WorkerReply, transfer: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
const Z = zlib.constants;

let ctx: { handle: ZHandle; state: Uint32Array; kind: CompressKind } | undefined;

function context(kind: CompressKind, level: number) {
  if (!ctx) {
    ctx = { ...openZlibHandle(kind, level), kind };
    selfTest(kind);
  }
  return ctx;
}

/** Compresses a probe through the handle and checks that the public decoder gets it back. */
function selfTest(kind: CompressKind) {
  const probe = new TextEncoder().encode("volsnap compression self-test ".repeat(64));
  const out = new ArrayBuffer(probe.length + (1 << 16));
  let back: Uint8Array | undefined;
  try {
    const r = compress({
      id: -1,
      kind,
      level: 1,
      buf: probe.slice().buffer,
      len: probe.length,
      out,
      end: true,
    });
    const packed = new Uint8Array(out, 0, r.outLen);
    back = new Uint8Array(
      kind === "zstd" ? zlib.zstdDecompressSync(packed) : zlib.gunzipSync(packed),
    );
  } catch {
    // falls through to the mismatch below
  }
  if (!back || back.length !== probe.length || back.some((b, i) => b !== probe[i])) {
    ctx = undefined;
    throw new Error(HANDLE_CHANGED);
  }
}

/**
 * Compresses `input` into `req.out`. Should that fill up (the caller sizes it
 * above the worst case, so this is not expected), the rest goes into `extra`
 * buffers of exact length that follow it.
 */
function compress(req: WorkerRequest): { outLen: number; extra: ArrayBuffer[] } {
  const c = context(req.kind, req.level);
  const flush = req.end
    ? (req.kind === "zstd" ? Z.ZSTD_e_end : Z.Z_FINISH)
    : (req.kind === "zstd" ? Z.ZSTD_e_continue : Z.Z_NO_FLUSH);
  const input = new Uint8Array(req.buf, 0, req.len);
  const first = new Uint8Array(req.out);
  let out = first;
  let firstLen = -1;
  const extra: ArrayBuffer[] = [];
  let inOff = 0;
  let outOff = 0;
  for (;;) {
    c.handle.writeSync(flush, input, inOff, input.length - inOff, out, outOff, out.length - outOff);
    const availOut = c.state[0];
    outOff = out.length - availOut;
    inOff = input.length - c.state[1];
    if (availOut > 0 && inOff === input.length) break; // all consumed, nothing pending
    if (availOut === 0) {
      if (out === first) firstLen = outOff;
      else extra.push(out.buffer as ArrayBuffer);
      out = new Uint8Array(1 << 20);
      outOff = 0;
    }
  }
  if (out !== first) extra.push(out.slice(0, outOff).buffer);
  if (req.end) c.handle.reset();
  return { outLen: out === first ? outOff : firstLen, extra };
}

scope.onmessage = (e) => {
  const req = e.data;
  try {
    const { outLen, extra } = compress(req);
    scope.postMessage({ id: req.id, buf: req.buf, out: req.out, outLen, extra }, [
      req.buf,
      req.out,
    ]);
  } catch (err) {
    scope.postMessage({ id: req.id, error: String(err) }, []);
  }
};
