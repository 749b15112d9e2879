/**
 * Decoding worker: reads the raw archive (a file it opens itself, or chunks
 * the main thread forwards), hashes exactly those bytes, decompresses them
 * (DecodedStream: zstd CLI / node:zlib gzip / none) and hands the tar stream
 * to the main thread in 1 MiB transferred buffers. The main thread parses and
 * writes with blocking fs calls; here reading, hashing and feeding zstd keep
 * going meanwhile. A small ack window bounds memory.
 */
import { AppError, BadArchiveError, type ErrorCode } from "../errors.ts";
import type { Compression } from "../model.ts";
import { DecodedStream } from "./decompress.ts";

export type ToWorker =
  | { type: "start"; path?: string; maxExpandedBytes: number }
  /** Answer to "need": one raw chunk, or none at the end of the source. */
  | { type: "raw"; buf?: ArrayBuffer }
  /** The main thread consumed one data chunk; `buf` is an older one handed back for reuse. */
  | { type: "ack"; buf?: ArrayBuffer }
  | { type: "cancel" };

export type FromWorker =
  | { type: "need" }
  | { type: "data"; buf: ArrayBuffer; len: number }
  | {
    type: "end";
    sha256: string;
    rawBytes: number;
    expandedBytes: number;
    compression: Compression;
  }
  | { type: "error"; error: WireError }
  /** Last message: the zstd child (if any) is gone. */
  | { type: "closed" };

export interface WireError {
  message: string;
  name: string;
  code?: ErrorCode;
  hint?: string;
  bad?: boolean;
}

/** Output chunk size: large enough that per-chunk costs on the main thread vanish. */
export const OUT_CHUNK = 1024 * 1024;
/** Raw file read size. */
const RAW_CHUNK = 256 * 1024;
const RAW_RING = 3;
/** Data chunks posted but not yet consumed by the main thread. */
export const WINDOW = 4;

export function toWire(err: unknown): WireError {
  if (err instanceof AppError) {
    return {
      message: err.message,
      name: err.name,
      code: err.code,
      hint: err.hint,
      bad: err instanceof BadArchiveError,
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { message: e.message, name: e.name };
}

interface Scope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
  close(): void;
}

if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  const scope = globalThis as unknown as Scope;
  let inflight = 0;
  const free: ArrayBuffer[] = [];
  const allocOut = () => new Uint8Array(free.pop() ?? new ArrayBuffer(OUT_CHUNK));
  let cancelled = false;
  let wake: (() => void) | undefined;
  let rawWaiter: ((buf: ArrayBuffer | undefined) => void) | undefined;

  scope.onmessage = (e) => {
    const m = e.data;
    if (m.type === "start") run(m.path, m.maxExpandedBytes);
    else if (m.type === "raw") {
      rawWaiter?.(m.buf);
      rawWaiter = undefined;
    } else if (m.type === "ack") {
      if (m.buf?.byteLength === OUT_CHUNK) free.push(m.buf);
      inflight--;
      wake?.();
    } else if (m.type === "cancel") {
      cancelled = true;
      wake?.();
      rawWaiter?.(undefined);
      rawWaiter = undefined;
    }
  };

  const fromMain = () =>
    new ReadableStream<Uint8Array>({
      async pull(ctl) {
        const buf = await new Promise<ArrayBuffer | undefined>((resolve) => {
          rawWaiter = resolve;
          scope.postMessage({ type: "need" });
        });
        if (buf === undefined || cancelled) ctl.close();
        else ctl.enqueue(new Uint8Array(buf));
      },
    }, { highWaterMark: 0 });

  const post = async (buf: ArrayBuffer, len: number) => {
    while (inflight >= WINDOW && !cancelled) {
      await new Promise<void>((r) => wake = r);
    }
    if (cancelled) return;
    inflight++;
    scope.postMessage({ type: "data", buf, len }, [buf]);
  };

  const run = async (path: string | undefined, maxExpandedBytes: number) => {
    try {
      const source = path ? fileSource(await Deno.open(path, { read: true })) : fromMain();
      const d = new DecodedStream(source, { maxExpandedBytes, allocOut });
      let out = allocOut();
      let off = 0;
      for await (const c of d.chunks()) {
        if (c.byteOffset === 0 && c.buffer.byteLength === OUT_CHUNK && off === 0) {
          await post(c.buffer as ArrayBuffer, c.length); // zstd filled one of ours: no copy
          if (cancelled) break;
          continue;
        }
        let pos = 0;
        while (pos < c.length) {
          const n = Math.min(c.length - pos, out.length - off);
          out.set(c.subarray(pos, pos + n), off);
          off += n;
          pos += n;
          if (off === out.length) {
            await post(out.buffer, off);
            out = allocOut();
            off = 0;
          }
        }
        if (cancelled) break; // return() on the generator kills zstd
      }
      if (!cancelled) {
        if (off) await post(out.buffer, off);
        scope.postMessage({
          type: "end",
          sha256: d.sha256(),
          rawBytes: d.rawBytes,
          expandedBytes: d.expandedBytes,
          compression: d.compression,
        });
      }
    } catch (err) {
      if (!cancelled) scope.postMessage({ type: "error", error: toWire(err) });
    } finally {
      scope.postMessage({ type: "closed" });
    }
  };
}

/**
 * Large reads into a small ring of reused buffers. Safe because the stream
 * pulls only when a read is pending (highWaterMark 0) and DecodedStream
 * hashes a chunk and waits until zstd's stdin took it before it reads the
 * next; the ring leaves slack beyond the one chunk in use.
 */
function fileSource(file: Deno.FsFile): ReadableStream<Uint8Array> {
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  const ring = Array.from({ length: RAW_RING }, () => new Uint8Array(RAW_CHUNK));
  let turn = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const buf = ring[turn++ % RAW_RING];
      let n: number | null;
      try {
        n = await file.read(buf);
      } catch (err) {
        close();
        throw err;
      }
      if (n === null) {
        close();
        ctl.close();
      } else ctl.enqueue(buf.subarray(0, n));
    },
    cancel: close,
  }, { highWaterMark: 0 });
}
