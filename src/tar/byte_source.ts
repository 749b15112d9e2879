/** The parser's input: a pull-based byte reader over an async iterator of chunks. */
import { BadArchiveError } from "../core/errors.ts";

export const EMPTY = new Uint8Array(0);

export function truncated(what: string) {
  return new BadArchiveError(`archive is truncated (stream ended inside ${what})`);
}

/** Pull-based byte reader over an async iterator of chunks, zero-copy where possible. */
export class ByteSource {
  #it: AsyncIterator<Uint8Array>;
  #cur: Uint8Array = EMPTY;
  #pos = 0;
  #ended = false;
  readonly #onChunkDone?: (chunk: Uint8Array) => void | Promise<void>;

  /**
   * `onChunkDone` sees each chunk once nothing will read it any more (before
   * the next one is fetched, and at the end): its owner may then give it away.
   */
  constructor(
    chunks: AsyncIterable<Uint8Array>,
    onChunkDone?: (chunk: Uint8Array) => void | Promise<void>,
  ) {
    this.#it = chunks[Symbol.asyncIterator]();
    this.#onChunkDone = onChunkDone;
  }

  /** False at end of stream. */
  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#cur.length) {
      if (this.#ended) return false;
      if (this.#cur !== EMPTY) {
        const done = this.#cur;
        this.#cur = EMPTY;
        this.#pos = 0;
        await this.#onChunkDone?.(done);
      }
      const r = await this.#it.next();
      if (r.done) {
        this.#ended = true;
        return false;
      }
      this.#cur = r.value;
      this.#pos = 0;
    }
    return true;
  }

  /** Exactly n bytes, or null if the stream ended before the first byte. */
  async read(n: number, what: string): Promise<Uint8Array | null> {
    if (!(await this.#fill())) return null;
    if (this.#cur.length - this.#pos >= n) {
      const v = this.#cur.subarray(this.#pos, this.#pos + n);
      this.#pos += n;
      return v;
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      if (!(await this.#fill())) throw truncated(what);
      const take = Math.min(n - off, this.#cur.length - this.#pos);
      out.set(this.#cur.subarray(this.#pos, this.#pos + take), off);
      this.#pos += take;
      off += take;
    }
    return out;
  }

  /** Hands n bytes to `sink` in the pieces they arrive in. */
  async pump(n: number, what: string, sink: (c: Uint8Array) => void | Promise<void>) {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw truncated(what);
      const take = Math.min(left, this.#cur.length - this.#pos);
      const piece = this.#cur.subarray(this.#pos, this.#pos + take);
      this.#pos += take;
      left -= take;
      await sink(piece);
    }
  }

  /** Consumes the rest of the stream, refusing anything but zero bytes. */
  async drainZeros(): Promise<void> {
    while (await this.#fill()) {
      const c = this.#cur;
      for (let i = this.#pos; i < c.length; i++) {
        if (c[i] !== 0) {
          throw new BadArchiveError("archive has trailing data after the end-of-archive marker");
        }
      }
      this.#pos = c.length;
    }
  }

  /** Stops the underlying iterator (e.g. after reading only the manifest). */
  async close(): Promise<void> {
    await this.#it.return?.();
  }
}
