/**
 * The cutter's buffers for frames on their way to the pool and back, and how
 * many may be in flight. A small frame travels in a small buffer (copied):
 * every buffer sent to a worker counts as new external memory for V8, and
 * 3 MiB ones per 64 KiB frame made the collector run 0.65 s of a 2.9 s
 * capture of 4000 such files.
 */
import { type FrameResult, outputBound } from "./frame_pool.ts";

/** Frames up to this size go to the pool in buffers of this size. */
const SMALL = 256 << 10;

export class FrameBuffers {
  #large: number;
  #freeIn: ArrayBuffer[] = [];
  #freeOut: ArrayBuffer[] = [];
  #freeSmall: ArrayBuffer[] = [];
  #freeSmallOut: ArrayBuffer[] = [];
  #inFlight: { done: Promise<void>; bytes: number }[] = [];
  #inFlightBytes = 0;
  /**
   * Buffer bytes the frames in flight may hold (4 frames of the largest
   * size, 48 small ones). Counted in bytes, not frames: 8 frames of 64 KiB
   * kept the worker idle half the time while the packer read the next 4 MiB
   * of files. 8 large frames' worth took no less time on the db set (3.11–3.39
   * s against 3.14–3.43 s) and 35 MiB more peak RSS (195–200 against 161–167).
   */
  #maxInFlight: number;

  constructor(largest: number) {
    this.#large = largest;
    this.#maxInFlight = 4 * (largest + outputBound(largest));
  }

  /** The buffer to send `cur[0, len)` in, and the buffer to gather the next frame in. */
  input(cur: Uint8Array, len: number): { buf: ArrayBuffer; cur: Uint8Array } {
    if (len <= SMALL) {
      const buf = this.#freeSmall.pop() ?? new ArrayBuffer(SMALL);
      new Uint8Array(buf).set(cur.subarray(0, len));
      return { buf, cur };
    }
    const next = new Uint8Array(this.#freeIn.pop() ?? new ArrayBuffer(this.#large));
    return { buf: cur.buffer as ArrayBuffer, cur: next };
  }

  /** An output buffer for a frame of `len` bytes. */
  output(len: number): ArrayBuffer {
    return len <= SMALL
      ? this.#freeSmallOut.pop() ?? new ArrayBuffer(outputBound(SMALL))
      : this.#freeOut.pop() ?? new ArrayBuffer(outputBound(this.#large));
  }

  /** A job's buffers back to their pools, by size. */
  recycle(r: FrameResult): void {
    (r.buf.byteLength === SMALL ? this.#freeSmall : this.#freeIn).push(r.buf);
    if (r.out) {
      (r.out.byteLength === outputBound(SMALL) ? this.#freeSmallOut : this.#freeOut).push(r.out);
    }
  }

  /** Counts a frame in flight until `done`; waits while too many bytes are. */
  async admit(done: Promise<void>, buf: ArrayBuffer, len: number): Promise<void> {
    const bytes = buf.byteLength + outputBound(len <= SMALL ? SMALL : this.#large);
    this.#inFlight.push({ done, bytes });
    this.#inFlightBytes += bytes;
    while (this.#inFlightBytes >= this.#maxInFlight) {
      const first = this.#inFlight.shift()!;
      this.#inFlightBytes -= first.bytes;
      await first.done;
    }
  }

  /** Waits for every frame in flight. */
  async drain(): Promise<void> {
    while (this.#inFlight.length) await this.#inFlight.shift()!.done;
    this.#inFlightBytes = 0;
  }
}
