/**
 * The small files of one frame whose contents a frame worker hashes: in a
 * full capture the packer's thread is the bottleneck on many small files
 * (30k files: 3.0-3.5 s with their sha256 on that thread, 2.5-2.7 s without).
 * The frame's job sets each record's sha256 (the content digest and the
 * recipe read it there) and names the frame by its recipe once they are known.
 */
import type { FramePool, FrameResult } from "./frame_pool.ts";
import type { FileRecord } from "./parent.ts";
import { frameId } from "./frame_id.ts";

export class PoolHashes {
  readonly #ranges: number[] = [];
  readonly #records: FileRecord[] = [];

  /** `len` content bytes at `off` in the frame are `rec`'s. */
  add(off: number, len: number, rec: FileRecord): void {
    this.#ranges.push(off, len);
    this.#records.push(rec);
  }

  get empty(): boolean {
    return this.#records.length === 0;
  }

  has(rec: FileRecord): boolean {
    return this.#records.includes(rec);
  }

  /**
   * Compresses the frame and hashes the files; resolves with the frame named
   * by `recipe()` (or by its bytes when it has none), told to `named`.
   */
  run(
    pool: FramePool,
    level: number,
    buf: ArrayBuffer,
    len: number,
    out: ArrayBuffer,
    recipe: () => string | null,
    named: (recipe: string | null) => void,
  ): Promise<FrameResult> {
    // An id given ("") keeps the worker from hashing the frame's bytes.
    return pool.run(level, buf, len, out, "", undefined, this.#ranges).then((r) => {
      r.shas!.forEach((sha, i) => this.#records[i].sha256 = sha);
      const id = recipe();
      named(id);
      return { ...r, id: id ?? frameId(level, new Uint8Array(r.buf, 0, len)) };
    });
  }
}
