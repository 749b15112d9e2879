/**
 * Turns the raw stored bytes of an archive into the tar byte stream, while
 * hashing and counting the raw bytes and capping the expanded size. The
 * compression is detected from magic bytes, never trusted from a file name.
 */
// node:crypto, node:zlib and node:stream load on first use: a stored zstd
// archive needs none of them, and loading them costs the archive worker ~12 ms.
import type { Hash } from "node:crypto";
import { AppError, BadArchiveError } from "../core/errors.ts";
import type { Compression } from "../core/model.ts";
import { growChildPipe } from "./pipe_size.ts";
import { ZSTD_BIN, zstdCliAvailable } from "./zstd_cli.ts";
import { concatBytes } from "../core/bytes.ts";

const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC = [0x1f, 0x8b];
/** zlib output chunk size; below 128 KiB Deno's zstd hands out 16 KiB pieces (1.6× slower). */
const INFLATE_CHUNK = 256 * 1024;

export function detectCompression(head: Uint8Array): Compression {
  const starts = (m: number[]) => head.length >= m.length && m.every((b, i) => head[i] === b);
  if (starts(ZSTD_MAGIC)) return "zstd";
  if (starts(GZIP_MAGIC)) return "gzip";
  return "none";
}

/**
 * Whether a stored file starts with a zstd frame that carries a content
 * checksum (Frame_Header_Descriptor bit 2), so that decoding it verifies its
 * content. Every capture writes one; imports may not. A skippable frame in
 * front, gzip or no compression all answer false.
 */
export async function zstdFrameChecksummed(path: string): Promise<boolean> {
  const f = await Deno.open(path, { read: true });
  try {
    const head = await readHead(f, 5);
    return head.length === 5 && detectCompression(head) === "zstd" && (head[4] & 0x04) !== 0;
  } finally {
    f.close();
  }
}

/** Up to the first `n` bytes of a file (fewer only if it is shorter). */
async function readHead(file: Deno.FsFile, n: number): Promise<Uint8Array> {
  const head = new Uint8Array(n);
  let got = 0;
  for (let r: number | null = 0; got < n && r !== null; got += r ?? 0) {
    r = await file.read(head.subarray(got));
  }
  return head.subarray(0, got);
}

export interface DecodeOptions {
  maxExpandedBytes: number;
  /** Called with the running count of decompressed bytes. */
  onExpanded?: (bytes: number) => void;
  signal?: AbortSignal;
  /**
   * Output buffers for the zstd CLI path, filled completely before they are
   * yielded (the last one may be partial). Lets a caller recycle buffers.
   */
  allocOut?: () => Uint8Array;
}

/** Raw bytes as a stream (an upload), or a stored archive file by path. */
export type DecodeSource = ReadableStream<Uint8Array> | { path: string };

/** Default fill size for zstd CLI output (a pipe read returns at most 64 KiB). */
const CLI_CHUNK = 1024 * 1024;
/** Read size for a stored file that is not decoded by the zstd CLI. */
const FILE_CHUNK = 1024 * 1024;

/**
 * One pass over `source`. Iterate `chunks()` once; after it finished,
 * `sha256()`, `rawBytes` and `expandedBytes` describe what was read (the
 * first two only for a stream source).
 */
export class DecodedStream {
  compression: Compression = "none";
  rawBytes = 0;
  expandedBytes = 0;
  readonly #source: DecodeSource;
  #hash?: Hash;
  readonly #opts: DecodeOptions;

  constructor(source: DecodeSource, opts: DecodeOptions) {
    this.#source = source;
    this.#opts = opts;
  }

  /** Hex sha256 of a stream source; "" for a file source (see `#fromFile`). */
  sha256(): string {
    return this.#hash?.digest("hex") ?? "";
  }

  async *chunks(): AsyncGenerator<Uint8Array> {
    if (!("path" in this.#source)) {
      this.#hash = (await import("node:crypto")).createHash("sha256");
    }
    const inflated = "path" in this.#source
      ? this.#fromFile(this.#source.path)
      : this.#fromStream(this.#source);
    for await (const chunk of inflated) {
      this.expandedBytes += chunk.length;
      if (this.expandedBytes > this.#opts.maxExpandedBytes) {
        throw new AppError(
          "too_large",
          `archive expands beyond the limit of ${this.#opts.maxExpandedBytes} bytes`,
          { hint: "raise VOLSNAP_MAX_RESTORE_BYTES if this archive is legitimate" },
        );
      }
      this.#opts.onExpanded?.(this.expandedBytes);
      yield chunk;
    }
  }

  async *#fromStream(source: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
    const reader = source.getReader();
    let finished = false;
    try {
      // Peek enough bytes to recognise the magic, then replay them.
      const head: Uint8Array[] = [];
      let headLen = 0;
      while (headLen < 4) {
        const r = await reader.read();
        if (r.done) break;
        this.#countRaw(r.value);
        head.push(r.value);
        headLen += r.value.length;
      }
      const first = concatBytes(head);
      this.compression = detectCompression(first);
      const raw = this.#rawRest(reader, first);
      yield* this.compression === "none"
        ? raw
        : this.compression === "zstd" && zstdCliAvailable()
        ? this.#inflateCli(raw)
        : this.#inflate(raw);
      finished = true;
    } finally {
      if (!finished) await reader.cancel().catch(() => {});
      reader.releaseLock();
    }
  }

  /**
   * A stored file. zstd gets it by path, so its bytes never cross a pipe into
   * zstd. Not hashed here: hashing on this thread would stall the pipe out of
   * zstd, so the caller hashes the file on a thread of its own.
   */
  async *#fromFile(given: string): AsyncGenerator<Uint8Array> {
    // The zstd CLI silently ignores an input path that is a symlink (a data
    // dir on a symlinked mount, say); it gets the resolved path.
    const path = await Deno.realPath(given);
    const file = await Deno.open(path, { read: true });
    let stopped = false;
    try {
      this.compression = detectCompression(await readHead(file, 4));
      if (this.compression !== "zstd" || !zstdCliAvailable()) {
        await file.seek(0, Deno.SeekMode.Start);
        yield* this.#fromStream(readFile(file, () => stopped));
        return;
      }
      this.rawBytes = (await file.stat()).size;
    } finally {
      stopped = true;
      file.close();
    }
    yield* this.#inflateCli(path);
  }

  #countRaw(chunk: Uint8Array) {
    this.rawBytes += chunk.length;
    this.#hash?.update(chunk);
  }

  async *#rawRest(reader: ReadableStreamDefaultReader<Uint8Array>, first: Uint8Array) {
    if (first.length) yield first;
    for (;;) {
      if (this.#opts.signal?.aborted) throw this.#opts.signal.reason;
      const r = await reader.read();
      if (r.done) return;
      this.#countRaw(r.value);
      yield r.value;
    }
  }

  async *#inflate(raw: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    const kind = this.compression;
    const { createGunzip, createZstdDecompress } = await import("node:zlib");
    const { pipeline, Readable } = await import("node:stream");
    const z = kind === "zstd"
      ? createZstdDecompress({ chunkSize: INFLATE_CHUNK })
      : createGunzip({ chunkSize: INFLATE_CHUNK });
    const src = Readable.from(raw, { objectMode: false });
    let srcError: unknown;
    // pipeline destroys both sides on error; the source error is kept so
    // that a too_large or abort from upstream is not reported as corruption.
    pipeline(src, z, (err) => {
      if (err) srcError ??= err;
    });
    src.on("error", (e) => srcError = e);
    // Errors may also fire after we stopped reading (e.g. the frame checksum
    // at the end, once the tar layer already failed); never leave them unhandled.
    z.on("error", () => {});
    try {
      for await (const chunk of z) yield chunk as Uint8Array;
    } catch (err) {
      const cause = srcError ?? err;
      if (cause instanceof AppError || isAbort(cause)) throw cause;
      throw new BadArchiveError(`corrupt ${kind} data: ${(err as Error).message}`, { cause: err });
    } finally {
      src.destroy();
      z.destroy();
    }
  }

  /**
   * zstd through the CLI. Deno 2.9.6's streaming `createZstdDecompress`
   * throws a frame-checksum error as an *uncaught* exception (it kills the
   * process; a corrupt upload would take the daemon down) and silently
   * accepts a truncated frame. The CLI reports both, and decompresses on
   * another core while we write files.
   */
  async *#inflateCli(raw: AsyncIterable<Uint8Array> | string): AsyncGenerator<Uint8Array> {
    const fromPath = typeof raw === "string";
    const p = new Deno.Command(ZSTD_BIN, {
      args: ["-d", "-c", "-q", "--no-progress", ...(fromPath ? ["--", raw] : [])],
      stdin: fromPath ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    growChildPipe(p.pid, 1);
    // A streamed source is written in 1 MiB pieces: a 64 KiB pipe would make
    // each one 16 wake-ups of zstd and of this thread.
    if (!fromPath) growChildPipe(p.pid, 0);
    let feedError: unknown;
    const feed = (async () => {
      if (fromPath) return;
      const w = p.stdin.getWriter();
      try {
        for await (const c of raw) await w.write(c);
        await w.close();
      } catch (err) {
        feedError ??= err;
        await w.abort().catch(() => {});
      }
    })();
    const stderr = readCapped(p.stderr, 4096);
    let done = false;
    try {
      // Pipe reads return at most 64 KiB. A BYOB reader puts them straight into
      // full-size buffers: no 64 KiB garbage chunk and no copy per read.
      const out = p.stdout.getReader({ mode: "byob" });
      const alloc = () => this.#opts.allocOut?.() ?? new Uint8Array(CLI_CHUNK);
      let buf = alloc();
      let off = 0;
      for (;;) {
        const len = buf.length;
        const r = await out.read(
          new Uint8Array(buf.buffer, buf.byteOffset + off, buf.length - off),
        );
        // The read transferred the buffer: keep using the one it came back in.
        // (`buf` itself is detached now and reads as length 0.)
        if (r.value) buf = new Uint8Array(r.value.buffer, r.value.byteOffset - off, len);
        if (r.done) break;
        off += r.value!.length;
        if (off === buf.length) {
          yield buf;
          buf = alloc();
          off = 0;
        }
      }
      out.releaseLock();
      if (off) yield buf.subarray(0, off);
      await feed;
      const status = await p.status;
      const cause = feedError;
      if (cause instanceof AppError || isAbort(cause)) throw cause;
      if (!status.success || cause) {
        const msg = (await stderr).replace(/^zstd: /gm, "").replace(/\s+/g, " ").trim();
        if (/premature end|unexpected end/i.test(msg)) {
          throw new BadArchiveError(`archive is truncated (zstd stream ends early: ${msg})`);
        }
        const why = msg || (cause ? String(cause) : `zstd exited with code ${status.code}`);
        throw new BadArchiveError(`corrupt zstd data: ${why}`);
      }
      done = true;
    } finally {
      if (!done) {
        try {
          p.kill("SIGKILL");
        } catch { /* already exited */ }
      }
      await feed;
      await p.status;
      await stderr;
    }
  }
}

/** A file as a pull stream of fresh chunks (the fallback decoders keep references). */
function readFile(file: Deno.FsFile, stopped: () => boolean): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      const buf = new Uint8Array(FILE_CHUNK);
      const n = stopped() ? null : await file.read(buf);
      if (n === null) ctl.close();
      else ctl.enqueue(buf.subarray(0, n));
    },
  }, { highWaterMark: 0 });
}

async function readCapped(s: ReadableStream<Uint8Array>, max: number): Promise<string> {
  let text = "";
  const dec = new TextDecoder();
  for await (const c of s) if (text.length < max) text += dec.decode(c, { stream: true });
  return text.slice(0, max);
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}
