/**
 * Streaming SHA-256 computed in a worker. `update` copies the bytes into one
 * of a few pooled buffers (so callers may reuse theirs at once) and only waits
 * when all of them are still being hashed.
 */
import type { HashRange, HashReply, HashRequest } from "./sha256_worker.ts";

const CHUNK = 1 << 20;
const POOL = 4;

export class OffThreadSha256 {
  #worker: Worker;
  #tailing = false;
  #closed = false;
  #stopped?: () => void;
  #free: ArrayBuffer[] = [];
  #outstanding = 0;
  #waitingForBuffer?: () => void;
  /** The buffer `update` is filling, not yet posted. */
  #cur?: { buf: ArrayBuffer; len: number };
  #digest?: { resolve: (hex: string) => void; reject: (e: Error) => void };
  #failure?: Error;
  #relayed?: Promise<string>;
  #hold = new Int32Array(new SharedArrayBuffer(4));
  /** Bytes hashed in tail or relay mode, once `digest` resolved. */
  tailSize?: number;

  constructor() {
    this.#worker = new Worker(new URL("./sha256_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<HashReply>) => {
      const r = e.data;
      if (r.op === "buffer") {
        this.#free.push(r.buf);
        this.#outstanding--;
        this.#waitingForBuffer?.();
      } else if (r.op === "digest") {
        this.tailSize = r.size;
        this.#digest?.resolve(r.hex);
      } else if (r.op === "guessed") {
        // The guess is hashed; `resume` uses its kept states.
      } else if (r.op === "stopped") {
        this.#stopped?.();
      } else {
        this.#failure = new Error(`hashing failed: ${r.message}`);
        this.#digest?.reject(this.#failure);
        this.#stopped?.();
      }
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#failure = new Error(`hash worker failed: ${e.message}`);
      this.#waitingForBuffer?.();
      this.#digest?.reject(this.#failure);
    };
  }

  /**
   * Small updates fill one buffer before it is posted: one message per frame
   * of 64 KiB cost 80–100 µs each on this thread (4000 such frames: +0.4 s).
   */
  async update(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      this.#cur ??= { buf: await this.#buffer(), len: 0 };
      const c = this.#cur;
      const n = Math.min(bytes.length - off, CHUNK - c.len);
      new Uint8Array(c.buf, c.len, n).set(bytes.subarray(off, off + n));
      c.len += n;
      off += n;
      if (c.len === CHUNK) this.#postCurrent();
    }
  }

  #postCurrent() {
    const c = this.#cur;
    this.#cur = undefined;
    if (!c || c.len === 0) return;
    this.#outstanding++;
    this.#post({ op: "update", buf: c.buf, len: c.len }, [c.buf]);
  }

  /**
   * Tail mode instead of `update`: hash the file at `path` while another
   * process appends to it; call `digest` once that writer has finished.
   */
  tail(path: string, opts: { writeback?: boolean } = {}): void {
    this.#tailing = true;
    this.#post({ op: "tail", path, writeback: opts.writeback }, []);
  }

  /**
   * Instead of `update`: copies pipe fd `from` to pipe fd `to` (raw fds of
   * this process, e.g. a child's stdout and another child's stdin), hashing
   * on the way, until `from` ends. Resolves then; `digest` gives the hash.
   * The worker's thread blocks in read/write meanwhile: before closing either
   * fd, wait for this to settle (ending the processes behind them ends it).
   */
  relay(from: number, to: number): Promise<void> {
    const hex = this.#relayed = new Promise<string>((resolve, reject) =>
      this.#digest = { resolve, reject }
    );
    hex.catch(() => {}); // observed through the promise returned here and `digest`
    this.#post({ op: "relay", from, to }, []);
    return hex.then(() => {});
  }

  /**
   * Instead of `update`: the digest of these file ranges back to back, read
   * and hashed by the worker (no bytes pass through the caller). Ends the worker.
   */
  digestRanges(ranges: HashRange[]): Promise<string> {
    return this.#finalDigest({ op: "ranges", ranges });
  }

  /**
   * Instead of `update`: starts hashing a guess at a stream (file ranges, as
   * for `digestRanges`) before the stream is known; `resume` gives the
   * digest of the real one, hashing again only from where it leaves the guess.
   */
  guess(ranges: HashRange[]): void {
    this.#post({ op: "guess", ranges, hold: this.#hold }, []);
  }

  /** Holds a guess (it waits between two 4 MiB reads) or lets it go on. */
  holdGuess(held: boolean): void {
    Atomics.store(this.#hold, 0, held ? 1 : 0);
    if (!held) Atomics.notify(this.#hold, 0);
  }

  /** The digest of `ranges`, whose first `sameUpTo` bytes are the guess's. Ends the worker. */
  resume(ranges: HashRange[], sameUpTo: number): Promise<string> {
    return this.#finalDigest({ op: "resume", ranges, sameUpTo });
  }

  /** Posts `msg`, whose reply is the digest; ends the worker. */
  async #finalDigest(msg: HashRequest): Promise<string> {
    const hex = new Promise<string>((resolve, reject) => this.#digest = { resolve, reject });
    this.#post(msg, []);
    const result = await hex;
    await this.close();
    return result;
  }

  /** Hex digest of everything passed to `update` (or tailed); ends the worker. */
  async digest(): Promise<string> {
    if (this.#relayed) {
      const relayed = await this.#relayed;
      await this.close();
      return relayed;
    }
    const hex = new Promise<string>((resolve, reject) => this.#digest = { resolve, reject });
    this.#postCurrent();
    this.#post({ op: this.#tailing ? "end" : "digest" }, []);
    const result = await hex;
    this.#tailing = false; // the tail loop has finished and closed the file
    await this.close();
    return result;
  }

  /**
   * Ends the worker. A tailing worker first closes the file it reads, so the
   * file system holding it can be unmounted right after (waits ≤ 1 s).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#tailing && !this.#failure) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#stopped = resolve;
        timer = setTimeout(resolve, 1000);
        this.#worker.postMessage({ op: "stop" } satisfies HashRequest);
      });
      clearTimeout(timer);
    }
    this.#worker.terminate();
    this.#digest?.reject(new Error("hashing was stopped")); // a relay cut short settles too
  }

  #post(msg: HashRequest, transfer: Transferable[]) {
    if (this.#failure) throw this.#failure;
    this.#worker.postMessage(msg, transfer);
  }

  async #buffer(): Promise<ArrayBuffer> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const b = this.#free.pop();
      if (b) return b;
      if (this.#outstanding < POOL) return new ArrayBuffer(CHUNK);
      await new Promise<void>((resolve) => this.#waitingForBuffer = resolve);
      this.#waitingForBuffer = undefined;
    }
  }
}
