/**
 * Main-thread side of walk_worker.ts. `messages()` runs one walk of an
 * archive on the worker and yields what it reports: the validated manifest,
 * then (with `withData`) batches of tar data with their validated entries.
 * Afterwards `result` holds the hash, sizes and entry count. Reading,
 * decompressing and every archive rule run on the worker; a stored file is
 * hashed on a third thread.
 */
import { AppError, BadArchiveError } from "../core/errors.ts";
import type { ArchiveStats, Compression, Manifest } from "../core/model.ts";
import type { ArchiveLimits } from "../tar/limits.ts";
import { validateManifest } from "./manifest_check.ts";
import { OffThreadSha256 } from "../hash/sha256_thread.ts";
import type { EncodedBatch } from "./batch_codec.ts";
import type { FromWorker, ToWorker, WireError } from "./walk_worker.ts";

/**
 * Either a file the worker opens itself, or raw bytes forwarded from a
 * stream. A file is hashed unless `hash: false` (its caller verified it
 * already, and zstd's frame checksum still covers the content); a stream
 * always is.
 */
export type RawSource =
  | { path: string; hash?: boolean }
  | { stream: ReadableStream<Uint8Array> };

/** Raw bytes per message to the worker when the source is a stream. */
const RAW_BATCH = 1 << 20;
/** Raw batches sent ahead of the worker (bounds memory: 8 MiB). */
const RAW_AHEAD = 8;

export interface WalkOptions {
  limits: ArchiveLimits;
  /** Yield entries and file data (extraction); otherwise only validate (scan). */
  withData: boolean;
  /** Called with the running count of decompressed bytes. */
  onExpanded?: (bytes: number) => void;
  signal?: AbortSignal;
}

export type WalkMessage =
  | { type: "manifest"; manifest: Manifest }
  /** Valid only until the next message is requested: the buffer is reused. */
  | { type: "batch"; data: Uint8Array; events: EncodedBatch };

export interface WalkResult {
  /** Hex sha256 of the raw bytes; "" for a file read with `hash: false`. */
  sha256: string;
  rawBytes: number;
  expandedBytes: number;
  compression: Compression;
  /** Entries after the manifest. */
  entries: number;
}

/** A finished walk as the stats of the archive it read. */
export function walkStats(r: WalkResult, warnings: string[] = []): ArchiveStats {
  return {
    sizeBytes: r.rawBytes,
    sha256: r.sha256,
    uncompressedBytes: r.expandedBytes,
    fileCount: r.entries,
    skippedSpecial: 0,
    warnings,
  };
}

export class OffThreadWalk {
  #result?: WalkResult;
  readonly #src: RawSource;
  readonly #opts: WalkOptions;

  constructor(src: RawSource, opts: WalkOptions) {
    this.#src = src;
    this.#opts = opts;
  }

  /** Set once `messages()` finished without error. */
  get result(): WalkResult {
    if (!this.#result) throw new AppError("internal", "archive walk has not finished");
    return this.#result;
  }

  async *messages(): AsyncGenerator<WalkMessage> {
    const src = this.#src;
    // Spawned from here: a worker spawned by another worker slows that one's event loop.
    const hasher = "path" in src && src.hash !== false ? new OffThreadSha256() : undefined;
    if (hasher && "path" in src) hasher.tail(src.path);
    const w = new Worker(new URL("./walk_worker.ts", import.meta.url).href, { type: "module" });
    const inbox: FromWorker[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    let srcError: unknown;
    let rawBytes = 0;
    const reader = "stream" in src ? src.stream.getReader() : undefined;
    const send = (m: ToWorker, t: Transferable[] = []) => {
      if (!closed) w.postMessage(m, t);
    };
    // A raw stream (e.g. a GET from the bucket) arrives in small chunks:
    // they are gathered into RAW_BATCH buffers, one message each, and the
    // next batch is read while the worker decodes this one.
    const readBatch = async (): Promise<ArrayBuffer | undefined> => {
      const parts: Uint8Array[] = [];
      let n = 0;
      while (n < RAW_BATCH) {
        const r = await reader!.read();
        if (r.done) break;
        parts.push(r.value);
        n += r.value.length;
      }
      if (n === 0) return undefined;
      // A copy: the stream's producer may still own the chunks' buffers.
      const out = new Uint8Array(n);
      let off = 0;
      for (const p of parts) {
        out.set(p, off);
        off += p.length;
      }
      return out.buffer;
    };
    // Raw batches are sent ahead of the worker's needs (up to RAW_AHEAD
    // unconsumed): this thread is busy writing files in long synchronous
    // stretches, and a worker that asked for each batch only when it wanted
    // it would wait out every one of them with zstd idle. Each "need" says
    // the worker consumed one.
    let unconsumed = 0;
    let pumping = false;
    let sourceDone = false;
    const pump = async () => {
      if (pumping || !reader) return;
      pumping = true;
      try {
        while (!sourceDone && !closed && unconsumed < RAW_AHEAD) {
          if (this.#opts.signal?.aborted) throw this.#opts.signal.reason;
          const buf = await readBatch();
          if (!buf) {
            sourceDone = true;
            send({ type: "raw" });
            break;
          }
          rawBytes += buf.byteLength;
          unconsumed++;
          send({ type: "raw", buf }, [buf]);
        }
      } catch (err) {
        srcError ??= err;
        sourceDone = true;
        send({ type: "raw" }); // the worker sees an early end; srcError wins below
      } finally {
        pumping = false;
      }
    };
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      if (e.data.type === "need") {
        unconsumed--;
        pump();
      } else {
        if (e.data.type === "closed") closed = true;
        inbox.push(e.data);
        wake?.();
      }
    };
    w.onerror = (e) => {
      e.preventDefault();
      inbox.push({
        type: "error",
        error: { name: "Error", message: `archive worker: ${e.message}` },
      });
      inbox.push({ type: "closed" });
      closed = true;
      wake?.();
    };
    const next = async (): Promise<FromWorker> => {
      while (!inbox.length) await new Promise<void>((r) => wake = r);
      return inbox.shift()!;
    };

    const signal = this.#opts.signal;
    const onAbort = () => {
      srcError ??= signal!.reason;
      inbox.push({ type: "error", error: { name: "AbortError", message: "aborted" } });
      wake?.();
    };
    signal?.addEventListener("abort", onAbort);
    let finished = false;
    try {
      signal?.throwIfAborted();
      send({
        type: "start",
        path: "path" in src ? src.path : undefined,
        limits: this.#opts.limits,
        withData: this.#opts.withData,
      });
      pump();
      for (;;) {
        const m = await next();
        if (m.type === "batch") {
          this.#opts.onExpanded?.(m.expandedBytes);
          yield { type: "batch", data: new Uint8Array(m.buf), events: m.events };
          send({ type: "ack", buf: m.buf }, [m.buf]);
        } else if (m.type === "progress") {
          this.#opts.onExpanded?.(m.expandedBytes);
        } else if (m.type === "manifest") {
          const manifest = validateManifest(m.json); // throws: the finally cancels the worker
          send({ type: "manifest-ok", manifest });
          yield { type: "manifest", manifest };
        } else if (m.type === "end") {
          if (srcError !== undefined) throw srcError;
          let sha256 = m.sha256;
          if (hasher) {
            sha256 = await hasher.digest();
            rawBytes = hasher.tailSize ?? 0;
          } else if (!reader) {
            rawBytes = m.rawBytes;
          } else if (rawBytes !== m.rawBytes) {
            throw new Error("archive worker lost raw bytes");
          }
          const { expandedBytes, compression, entries } = m;
          this.#result = { sha256, rawBytes, expandedBytes, compression, entries };
          finished = true;
          return;
        } else if (m.type === "error") {
          throw srcError ?? fromWire(m.error);
        } else if (m.type === "closed") {
          throw srcError ?? new Error("archive worker stopped without a result");
        }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!finished) send({ type: "cancel" });
      // Wait for "closed": the worker has then reaped its zstd child.
      while (!closed) await next();
      w.terminate();
      await hasher?.close();
      if (reader) {
        if (!finished) await reader.cancel().catch(() => {});
        reader.releaseLock();
      }
    }
  }
}

function fromWire(e: WireError): Error {
  if (e.bad) return new BadArchiveError(e.message);
  if (e.code) return new AppError(e.code, e.message, { hint: e.hint });
  const Known = (Deno.errors as unknown as Record<string, new (m: string) => Error>)[e.name];
  const err = Known ? new Known(e.message) : new Error(e.message);
  err.name = e.name;
  return err;
}
