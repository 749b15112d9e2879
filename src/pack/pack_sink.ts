/**
 * The tar byte stream being built: a batch buffer that headers are copied into
 * and file data is read into directly (no intermediate copies). Full batches go
 * to the compressor, which applies backpressure.
 */
import type { FrameCompressor } from "../compression/compress.ts";
import type { EntryStat } from "./volume_fs.ts";
import type { ContentDigester, LaterSha } from "../drill/content_digest.ts";
import type { VirtualSource } from "../frames/parent.ts";

/**
 * Where the packer's tar stream may be cut into frames (src/frames), by tar
 * offset (`TarSink.bytes` at the call). Absent for a single-stream archive.
 */
export interface FrameMarks {
  /** A tar entry (its header) starts at `at`; `size`: its header's size field. */
  entry(at: number, path: string, size: number): void;
  /**
   * A large file's data and padding (`length` bytes) start at `at`. A
   * string: the frame store already holds exactly these bytes for this
   * unchanged file, whose content has that sha256; the packer then skips them
   * with `TarSink.reference` instead of reading the file. `chunks`: the
   * content digest's 1 MiB chunk digests as they complete (they name the
   * file's chunk frames, so its bytes are hashed once).
   */
  largeData(
    at: number,
    path: string,
    st: EntryStat,
    length: number,
    chunks?: Uint8Array[],
  ): string | undefined;
  /**
   * The large data started last was written. `contentSha`: its content's
   * sha256 when it was read whole and unchanged (else it is not reusable).
   */
  largeDataEnd(contentSha: string | undefined): void;
  /**
   * An unchanged small file of the parent (same identity, no xattrs, one
   * link): where its data already is. The packer then writes its header and
   * `TarSink.virtual` instead of opening the file.
   */
  unchangedSmall(path: string, st: EntryStat): VirtualSource | undefined;
  /**
   * A small file's data and padding (`length` bytes; `size` of content), read
   * now, start at `at`. Returns where its content sha256 will be set when a
   * frame worker hashes it: then the packer does not (`ContentDigester.endFileLater`).
   */
  smallData(
    at: number,
    path: string,
    st: EntryStat,
    length: number,
    size: number,
  ): LaterSha | undefined;
  /**
   * That small file's content sha256 (or where it will be; undefined: changed
   * while read); `reusable` by a later capture.
   */
  smallDataEnd(contentSha: string | LaterSha | undefined, reusable: boolean): void;
  /** `length` bytes at `at` are an unchanged small file's data, not pushed (see unchangedSmall). */
  virtualData(at: number, length: number, src: VirtualSource, path: string, st: EntryStat): void;
  /** The end-of-archive blocks start at `at`. */
  end(at: number): void;
}

export class TarSink {
  #compressor: FrameCompressor;
  #buf: Uint8Array;
  #pos = 0;
  #flushed = 0;
  #onFlush?: (bytesDone: number) => void;
  #signal?: AbortSignal;
  /** Set when the stream is cut into frames for the frame store. */
  readonly frames?: FrameMarks;
  /** Set when the capture records its content digest while packing (every byte then passes here). */
  readonly digest?: ContentDigester;

  constructor(
    compressor: FrameCompressor,
    opts: {
      onFlush?: (bytesDone: number) => void;
      signal?: AbortSignal;
      frames?: FrameMarks;
      digest?: ContentDigester;
    } = {},
  ) {
    this.#compressor = compressor;
    this.frames = opts.frames;
    this.digest = opts.digest;
    this.#buf = compressor.acquire();
    this.#onFlush = opts.onFlush;
    this.#signal = opts.signal;
  }

  /** Tar bytes produced so far. */
  get bytes(): number {
    return this.#flushed + this.#pos;
  }

  /** The current batch; bytes go at `pos`, up to `room` of them, then `commit`. */
  get buf(): Uint8Array {
    return this.#buf;
  }

  get pos(): number {
    return this.#pos;
  }

  get room(): number {
    return this.#buf.length - this.#pos;
  }

  /**
   * Marks `n` bytes written at `pos`. Returns a promise only when that filled
   * the batch (then await it): no promise per entry in the common case.
   */
  commit(n: number): Promise<void> | undefined {
    this.#pos += n;
    return this.#pos === this.#buf.length ? this.flush() : undefined;
  }

  /** The free tail of the current batch; fill it, then call `advance`. */
  freeSpace(): Uint8Array {
    return this.#buf.subarray(this.#pos);
  }

  /** Marks `n` bytes of `freeSpace()` as written. */
  async advance(n: number): Promise<void> {
    this.#pos += n;
    if (this.#pos === this.#buf.length) await this.flush();
  }

  async put(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      const n = Math.min(bytes.length - off, this.#buf.length - this.#pos);
      this.#buf.set(
        off === 0 && n === bytes.length ? bytes : bytes.subarray(off, off + n),
        this.#pos,
      );
      off += n;
      await this.advance(n);
    }
  }

  async zeros(count: number): Promise<void> {
    while (count > 0) {
      const n = Math.min(count, this.#buf.length - this.#pos);
      this.#buf.fill(0, this.#pos, this.#pos + n);
      count -= n;
      await this.advance(n);
    }
  }

  /**
   * Appends up to `length` bytes of the file open at `fd` without reading
   * them into a batch, where the compressor can (FrameCompressor.spliceFile).
   * Returns the bytes appended; the caller reads the rest the ordinary way.
   */
  async spliceFile(fd: number, length: number): Promise<number> {
    // Spliced bytes bypass this process, so the digest could not see them.
    if (!this.#compressor.spliceFile || this.digest) return 0;
    await this.flush();
    const n = await this.#compressor.spliceFile(fd, length, this.#signal);
    this.#flushed += n;
    if (n > 0) this.#onFlush?.(this.#flushed);
    return n;
  }

  /**
   * Counts `length` tar bytes that the frame store already holds (see
   * FrameMarks.largeData) as written, without any bytes passing through.
   */
  async reference(length: number): Promise<void> {
    await this.flush();
    this.#flushed += length;
  }

  /**
   * Counts `length` tar bytes of an unchanged small file as written without
   * reading it (FrameMarks.unchangedSmall said where they are).
   */
  async virtual(length: number, src: VirtualSource, path: string, st: EntryStat): Promise<void> {
    await this.flush();
    this.frames!.virtualData(this.bytes, length, src, path, st);
    this.#flushed += length;
  }

  /** Hands the current batch to the compressor (if it holds anything). */
  async flush(): Promise<void> {
    this.#signal?.throwIfAborted();
    if (this.#pos === 0) return;
    const batch = this.#buf.subarray(0, this.#pos);
    this.#flushed += this.#pos;
    this.#pos = 0;
    await this.#compressor.push(batch);
    this.#buf = this.#compressor.acquire();
    this.#onFlush?.(this.#flushed);
  }
}
