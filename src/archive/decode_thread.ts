/**
 * Main-thread side of decode_worker.ts: the same one-pass contract as
 * DecodedStream (iterate `chunks()` once, then read `sha256()`, `rawBytes`,
 * `expandedBytes`), but reading, hashing and decompressing run on another
 * thread, so blocking file writes here never stall the decoder.
 */
import { AppError, BadArchiveError } from "../errors.ts";
import type { Compression } from "../model.ts";
import type { DecodeOptions } from "./decompress.ts";
import type { FromWorker, ToWorker, WireError } from "./decode_worker.ts";

/** Either a file the worker opens itself, or raw bytes forwarded from a stream. */
export type RawSource = { path: string } | { stream: ReadableStream<Uint8Array> };

export class OffThreadDecode {
  compression: Compression = "none";
  rawBytes = 0;
  expandedBytes = 0;
  #sha256 = "";
  readonly #src: RawSource;
  readonly #opts: DecodeOptions;

  constructor(src: RawSource, opts: DecodeOptions) {
    this.#src = src;
    this.#opts = opts;
  }

  /** Hex sha256 of the raw bytes; valid once `chunks()` has finished. */
  sha256(): string {
    return this.#sha256;
  }

  async *chunks(): AsyncGenerator<Uint8Array> {
    const w = new Worker(new URL("./decode_worker.ts", import.meta.url).href, { type: "module" });
    const inbox: FromWorker[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    let srcError: unknown;
    const reader = "stream" in this.#src ? this.#src.stream.getReader() : undefined;
    const send = (m: ToWorker, t: Transferable[] = []) => {
      if (!closed) w.postMessage(m, t);
    };
    const answerNeed = async () => {
      try {
        if (this.#opts.signal?.aborted) throw this.#opts.signal.reason;
        const r = await reader!.read();
        if (r.done) return send({ type: "raw" });
        this.rawBytes += r.value.length;
        // A copy: the stream's producer may still own the chunk's buffer.
        const buf = r.value.slice().buffer;
        send({ type: "raw", buf }, [buf]);
      } catch (err) {
        srcError ??= err;
        send({ type: "raw" }); // the worker sees an early end; srcError wins below
      }
    };
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      if (e.data.type === "need") answerNeed();
      else {
        if (e.data.type === "closed") closed = true;
        inbox.push(e.data);
        wake?.();
      }
    };
    w.onerror = (e) => {
      e.preventDefault();
      inbox.push({ type: "error", error: { name: "Error", message: `decoder: ${e.message}` } });
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
    const held: ArrayBuffer[] = [];
    let finished = false;
    try {
      signal?.throwIfAborted();
      send({
        type: "start",
        path: "path" in this.#src ? this.#src.path : undefined,
        maxExpandedBytes: this.#opts.maxExpandedBytes,
      });
      for (;;) {
        const m = await next();
        if (m.type === "data") {
          // Hand back the chunk from two steps ago: the parser may still hold a
          // view into the previous one (e.g. a body read just before its padding).
          held.push(m.buf);
          const old = held.length > 2 ? held.shift() : undefined;
          send({ type: "ack", buf: old }, old ? [old] : []);
          this.expandedBytes += m.len;
          this.#opts.onExpanded?.(this.expandedBytes);
          yield new Uint8Array(m.buf, 0, m.len);
        } else if (m.type === "end") {
          if (srcError !== undefined) throw srcError;
          this.#sha256 = m.sha256;
          this.compression = m.compression;
          this.expandedBytes = m.expandedBytes;
          if (!reader) this.rawBytes = m.rawBytes;
          else if (this.rawBytes !== m.rawBytes) throw new Error("decoder lost raw bytes");
          finished = true;
          return;
        } else if (m.type === "error") {
          throw srcError ?? fromWire(m.error);
        } else if (m.type === "closed") {
          throw srcError ?? new Error("decoder stopped without a result");
        }
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!finished) send({ type: "cancel" });
      // Wait for "closed": the worker has then reaped its zstd child.
      while (!closed) await next();
      w.terminate();
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
