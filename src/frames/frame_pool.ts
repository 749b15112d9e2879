/**
 * A pool of frame workers (frame_worker.ts), one per core but the packer's: frames
 * are independent, so they are hashed and compressed in parallel and handed
 * back with their buffers for reuse.
 */
import type { FrameReply, FrameRequest } from "./frame_worker.ts";
import type { SubFrame } from "./sub_frames.ts";

export interface FrameResult {
  id: string;
  /** The input buffer, returned for reuse. */
  buf: ArrayBuffer;
  /** Compressed frame (when compression was asked for), in `out[0, outLen)`. */
  out?: ArrayBuffer;
  outLen: number;
  /** Sub-frames against a parent: each one new (in `out`) or kept (in the parent's bytes). */
  pieces?: SubFrame[];
  /** The sha256 of each range asked for (FrameRequest.ranges). */
  shas?: string[];
}

/** A chunk compressed as sub-frames, against the parent's chunk when given (frame_worker.ts). */
export interface SubFrameJob {
  sub: number;
  /** The parent's chunk: its compressed bytes [0, parentLen) (transferred, not returned). */
  parent?: ArrayBuffer;
  parentLen?: number;
}

/**
 * One core stays with the packer (the main thread reads the volumes: the
 * critical path), the others compress. Measured on 2 cores, 30k small files
 * + 64 MiB: 1 worker 4.7-4.9 s and 6.6 s CPU, 2 workers 4.8-5.3 s and 7.3 s
 * CPU (the packer then shares its core).
 */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min((navigator.hardwareConcurrency || 1) - 1, 4));
}

/** Output room for a frame of `len` bytes (zstd's compressBound plus slack). */
export function outputBound(len: number): number {
  return len + (len >> 7) + (64 << 10);
}

export class FramePool {
  #workers: { w: Worker; busy: number }[] = [];
  #waiters = new Map<number, { resolve: (r: FrameResult) => void; reject: (e: Error) => void }>();
  #seq = 0;
  #failure?: Error;

  constructor(count = defaultWorkerCount()) {
    for (let i = 0; i < count; i++) {
      const w = new Worker(new URL("./frame_worker.ts", import.meta.url).href, { type: "module" });
      const slot = { w, busy: 0 };
      w.onmessage = (e: MessageEvent<FrameReply>) => {
        slot.busy--;
        const r = e.data;
        const waiter = this.#waiters.get(r.seq);
        this.#waiters.delete(r.seq);
        if (!waiter) return;
        if ("error" in r) waiter.reject(new Error(`frame compression failed: ${r.error}`));
        else {
          const { id, buf, out, outLen, pieces, shas } = r;
          waiter.resolve({ id, buf, out, outLen, pieces, shas });
        }
      };
      w.onerror = (e) => {
        e.preventDefault();
        this.#fail(new Error(`frame worker failed: ${e.message}`));
      };
      this.#workers.push(slot);
    }
  }

  /**
   * Hashes `buf[0, len)` and, when `out` is given, compresses it into `out`.
   * Both buffers are transferred to a worker and come back in the result.
   */
  run(
    level: number,
    buf: ArrayBuffer,
    len: number,
    out?: ArrayBuffer,
    id?: string,
    subFrames?: SubFrameJob,
    ranges?: number[],
  ): Promise<FrameResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    const slot = this.#workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const seq = this.#seq++;
    const req: FrameRequest = { seq, level, buf, len, out, id, ...subFrames, ranges };
    const transfer: Transferable[] = [buf];
    if (out) transfer.push(out);
    if (subFrames?.parent) transfer.push(subFrames.parent);
    return new Promise<FrameResult>((resolve, reject) => {
      this.#waiters.set(seq, { resolve, reject });
      slot.busy++;
      slot.w.postMessage(req, transfer);
    });
  }

  #fail(err: Error) {
    this.#failure ??= err;
    for (const w of this.#waiters.values()) w.reject(this.#failure);
    this.#waiters.clear();
  }

  close() {
    for (const s of this.#workers) s.w.terminate();
    this.#workers = [];
    this.#fail(new Error("frame pool closed"));
  }
}

/**
 * Whether the packer's thread names frames itself: with one or two workers
 * the packer has time to spare (it waits on compression most of the time),
 * with more it would become the bottleneck.
 */
export function hashOnCaller(workers: number): boolean {
  return workers <= 2;
}
