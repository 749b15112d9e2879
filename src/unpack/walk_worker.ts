/**
 * Archive worker: reads the raw archive (a stored file by path, or chunks the
 * main thread forwards), decompresses it (DecodedStream) and walks the tar
 * stream with every rule of ArchiveWalker. The main thread only gets what is
 * already validated: the manifest, then (when it extracts) batches of 4 MiB
 * tar chunks, each transferred with the entries that start in it and the
 * (offset, length) pieces of file data it holds. Parsing here leaves the main
 * thread nothing but file system calls; a small ack window bounds memory.
 */
import { AppError, BadArchiveError, type ErrorCode } from "../core/errors.ts";
import type { Compression, Manifest } from "../core/model.ts";
import { BatchEncoder, type EncodedBatch } from "./batch_codec.ts";
import { DecodedStream } from "../compression/decompress.ts";
import type { ArchiveLimits } from "../tar/limits.ts";
import { ArchiveWalker } from "./reader.ts";
import { TarParser } from "../tar/read_tar.ts";
import { ByteSource } from "../tar/byte_source.ts";

export type ToWorker =
  | {
    type: "start";
    path?: string;
    limits: ArchiveLimits;
    /** Send entries and file data (extraction); otherwise only validate (scan). */
    withData: boolean;
  }
  /** One raw chunk, sent ahead of need; none: the end of the source. */
  | { type: "raw"; buf?: ArrayBuffer }
  /** The main thread is done with one batch, whose buffer comes back for reuse. */
  | { type: "ack"; buf: ArrayBuffer }
  /** Answer to "manifest": the main thread validated it (else it cancels). */
  | { type: "manifest-ok"; manifest: Manifest }
  | { type: "cancel" };

export type FromWorker =
  /** One raw chunk was taken: room for another. */
  | { type: "need" }
  /** The manifest's parsed JSON, for the main thread to validate (zod is not loaded here). */
  | { type: "manifest"; json: unknown }
  /** Tar bytes, and the entries and file-data pieces in them (batch_codec.ts). */
  | { type: "batch"; buf: ArrayBuffer; events: EncodedBatch; expandedBytes: number }
  | { type: "progress"; expandedBytes: number }
  | {
    type: "end";
    sha256: string;
    rawBytes: number;
    expandedBytes: number;
    compression: Compression;
    entries: number;
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

/** Tar chunk size: large enough that per-batch costs on the main thread vanish. */
export const OUT_CHUNK = 4 * 1024 * 1024;
/** Batches posted but not yet acknowledged by the main thread. */
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
}

if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  const scope = globalThis as unknown as Scope;
  let inflight = 0;
  const free: ArrayBuffer[] = [];
  const allocOut = () => new Uint8Array(free.pop() ?? new ArrayBuffer(OUT_CHUNK));
  let cancelled = false;
  let wake: (() => void) | undefined;
  let rawWaiter: ((buf: ArrayBuffer | undefined) => void) | undefined;
  let manifestWaiter: ((m: Manifest | undefined) => void) | undefined;

  scope.onmessage = (e) => {
    const m = e.data;
    if (m.type === "start") run(m.path, m.limits, m.withData);
    else if (m.type === "raw") {
      rawQueue.push(m.buf);
      if (!m.buf) rawEnded = true;
      rawWaiter?.(m.buf);
      rawWaiter = undefined;
    } else if (m.type === "ack") {
      if (m.buf.byteLength === OUT_CHUNK) free.push(m.buf);
      inflight--;
      wake?.();
    } else if (m.type === "manifest-ok") {
      manifestWaiter?.(m.manifest);
      manifestWaiter = undefined;
    } else if (m.type === "cancel") {
      cancelled = true;
      wake?.();
      rawWaiter?.(undefined);
      rawWaiter = undefined;
      manifestWaiter?.(undefined);
      manifestWaiter = undefined;
    }
  };

  // Raw batches arrive ahead of need (walk_thread.ts sends up to RAW_AHEAD);
  // "need" hands one credit back per batch taken. `undefined` ends the source.
  const rawQueue: (ArrayBuffer | undefined)[] = [];
  let rawEnded = false;
  const fromMain = () =>
    new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if (!rawQueue.length && !rawEnded) {
          await new Promise<void>((resolve) => rawWaiter = () => resolve());
        }
        const buf = rawQueue.shift();
        if (buf === undefined || cancelled) return ctl.close();
        scope.postMessage({ type: "need" });
        ctl.enqueue(new Uint8Array(buf));
      },
    }, { highWaterMark: 0 });

  const run = async (path: string | undefined, limits: ArchiveLimits, withData: boolean) => {
    let src: ByteSource | undefined;
    try {
      const d = new DecodedStream(path ? { path } : fromMain(), {
        maxExpandedBytes: limits.maxExpandedBytes,
        allocOut,
      });
      const events = new BatchEncoder();
      const chunkDone = async (chunk: Uint8Array) => {
        if (cancelled) throw new DOMException("cancelled", "AbortError");
        if (!withData) {
          free.push(chunk.buffer as ArrayBuffer); // nothing left refers to it
          scope.postMessage({ type: "progress", expandedBytes: d.expandedBytes });
          return;
        }
        while (inflight >= WINDOW && !cancelled) await new Promise<void>((r) => wake = r);
        if (cancelled) throw new DOMException("cancelled", "AbortError");
        inflight++;
        const buf = chunk.buffer as ArrayBuffer;
        const batch = events.take();
        scope.postMessage(
          { type: "batch", buf, events: batch, expandedBytes: d.expandedBytes },
          [buf, batch.nums.buffer as ArrayBuffer],
        );
      };
      src = new ByteSource(fullChunks(d.chunks(), allocOut), chunkDone);
      const parser = new TarParser(src, limits);
      const walker = await ArchiveWalker.open(parser, limits, async (json) => {
        // A cancel that came before this point found no waiter to release.
        if (cancelled) throw new DOMException("cancelled", "AbortError");
        const checked = await new Promise<Manifest | undefined>((resolve) => {
          manifestWaiter = resolve;
          scope.postMessage({ type: "manifest", json });
        });
        if (!checked) throw new DOMException("cancelled", "AbortError");
        return checked;
      });
      for (;;) {
        const e = await walker.next();
        if (!e) break;
        if (!withData) continue; // the body is skipped (still decoded, counted, hashed)
        events.entry(e);
        if (e.type === "file" && e.size > 0) {
          await parser.pumpBody((piece) => events.data(piece.byteOffset, piece.length));
        }
      }
      scope.postMessage({
        type: "end",
        sha256: d.sha256(),
        rawBytes: d.rawBytes,
        expandedBytes: d.expandedBytes,
        compression: d.compression,
        entries: walker.entries,
      });
    } catch (err) {
      if (!cancelled) scope.postMessage({ type: "error", error: toWire(err) });
    } finally {
      // On an error or a cancel the decoder is still suspended mid-stream:
      // closing it kills and reaps the zstd child before we say "closed".
      await src?.close().catch(() => {});
      scope.postMessage({ type: "closed" });
    }
  };
}

/**
 * The decoded stream as whole OUT_CHUNK buffers that start at offset 0 (the
 * last one may be short), so a chunk can be transferred as it is and its
 * pieces named by offset. zstd output already arrives that way: no copy.
 */
async function* fullChunks(
  chunks: AsyncIterable<Uint8Array>,
  alloc: () => Uint8Array,
): AsyncGenerator<Uint8Array> {
  let out: Uint8Array | undefined;
  let off = 0;
  for await (const c of chunks) {
    if (c.byteOffset === 0 && c.buffer.byteLength === OUT_CHUNK && off === 0) {
      yield c;
      continue;
    }
    let pos = 0;
    while (pos < c.length) {
      out ??= alloc();
      const n = Math.min(c.length - pos, out.length - off);
      out.set(c.subarray(pos, pos + n), off);
      off += n;
      pos += n;
      if (off === out.length) {
        yield out;
        out = undefined;
        off = 0;
      }
    }
  }
  if (out && off) yield out.subarray(0, off);
}
