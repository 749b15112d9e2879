/**
 * The sha256 of a framed snapshot's standalone stream: its frames back to
 * back, read from their packs by the hash worker (no bytes through the
 * packer's thread).
 *
 * After a pre-copy, the stream of the pass with the app stopped is mostly
 * the pre-copy's, often all of it. `StreamHashGuess` starts hashing the
 * pre-copy's frames while the app is being stopped and read again; the real
 * stream is then hashed only from (about 1 MiB before) the first frame where
 * the two differ, instead of whole after the app is back.
 */
import { AppError } from "../core/errors.ts";
import { OffThreadSha256 } from "../hash/sha256_thread.ts";
import type { HashRange } from "../hash/sha256_worker.ts";
import { type FrameRef, type PackWriter, refLocation } from "./store.ts";

/** The frames' bytes as file ranges, frames stored back to back merged into one. */
export function frameRanges(pack: PackWriter, frames: FrameRef[]): HashRange[] {
  const merged: HashRange[] = [];
  for (const f of frames) {
    const loc = refLocation(pack.location(f.id), f);
    if (!loc) {
      throw new AppError("integrity_error", `frame ${f.id} vanished from the frame store`, {
        hint: "the capture is abandoned; run it again",
      });
    }
    const r = { ...pack.fileOf(loc), offset: loc.offset, size: loc.size };
    // Thousands of 16 KiB reads (a chunk's spans) cost more than the hashing.
    const last = merged[merged.length - 1];
    if (last && last.path === r.path && last.offset + last.size === r.offset) {
      last.size += r.size;
    } else merged.push(r);
  }
  return merged;
}

/** sha256 of the concatenated frames, read back (from the store or this pack). */
export async function hashFrames(pack: PackWriter, frames: FrameRef[]): Promise<string> {
  const hash = new OffThreadSha256();
  try {
    return await hash.digestRanges(frameRanges(pack, frames));
  } finally {
    await hash.close();
  }
}

/** A stream's hash started from a guess at its frames (a pre-copy's). */
export class StreamHashGuess {
  #hash = new OffThreadSha256();
  #guess: FrameRef[];

  /** `pack`: where the guessed frames are (the pre-copy's, committed). */
  constructor(pack: PackWriter, guess: FrameRef[]) {
    this.#guess = guess;
    this.#hash.guess(frameRanges(pack, guess));
  }

  /** While held, the guess waits (the packer's pass with the app down needs the CPU). */
  hold(held: boolean): void {
    this.#hash.holdGuess(held);
  }

  /** The real stream's sha256; it is hashed again from where it leaves the guess. */
  async digest(pack: PackWriter, frames: FrameRef[]): Promise<string> {
    const ranges = frameRanges(pack, frames);
    let same = 0;
    for (let i = 0; i < frames.length && i < this.#guess.length; i++) {
      const a = frames[i], b = this.#guess[i];
      if (a.id !== b.id || a.size !== b.size || a.rawSize !== b.rawSize || a.from !== b.from) break;
      same += a.size;
    }
    try {
      return await this.#hash.resume(ranges, same);
    } finally {
      await this.#hash.close();
    }
  }

  close(): Promise<void> {
    return this.#hash.close();
  }
}
