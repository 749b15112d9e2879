/**
 * Reads frames back out of pack files: one frame at a time, for the
 * standalone stream of a framed snapshot (frames back to back), and for
 * hashing a stream that reuses frames.
 */
import { join } from "node:path";
import { AppError } from "../core/errors.ts";
import { type FrameLocation, type FrameRef, type FrameStore, refLocation } from "./store.ts";

/** At most this many bytes of adjacent frames are read at once for a stream. */
const READ_RUN = 4 << 20;

export class PackReader {
  #store: FrameStore;
  #files = new Map<string, Deno.FsFile>();
  /** Packs being written (not yet renamed into place): name → temp path. */
  #pending = new Map<string, string>();

  constructor(store: FrameStore) {
    this.#store = store;
  }

  /** Lets frames of a pack still being written be read from its temp file. */
  addPending(name: string, tempPath: string) {
    this.#pending.set(name, tempPath);
  }

  location(f: FrameRef): FrameLocation {
    const stored = this.#store.get(f.id);
    const loc = refLocation(stored, f);
    if (!loc) {
      throw new AppError(
        "integrity_error",
        `frame ${f.id} is ${stored ? "not the recorded size" : "missing from the frame store"}`,
        {
          hint:
            "the snapshot cannot be read; delete it, or restore the data dir's frames/ from a copy",
        },
      );
    }
    return loc;
  }

  async read(loc: FrameLocation, out = new Uint8Array(loc.size)): Promise<Uint8Array> {
    const f = this.#file(loc);
    await f.seek(loc.offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < loc.size) {
      const n = await f.read(out.subarray(got, loc.size));
      if (n === null) throw endsInside(loc);
      got += n;
    }
    return out.subarray(0, loc.size);
  }

  /**
   * `read` without leaving the thread: for a capture's reads of its parent's
   * frames, which sit on its critical path (while the app is down). Measured
   * on the db set's second capture: 350 changed chunks' parent frames took
   * 0.52 s read asynchronously (a thread-pool round trip per seek and read),
   * most of the time the app was down beyond its own stop and start.
   */
  readSync(loc: FrameLocation, out = new Uint8Array(loc.size)): Uint8Array {
    const f = this.#file(loc);
    f.seekSync(loc.offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < loc.size) {
      const n = f.readSync(out.subarray(got, loc.size));
      if (n === null) throw endsInside(loc);
      got += n;
    }
    return out.subarray(0, loc.size);
  }

  #file(loc: FrameLocation): Deno.FsFile {
    let f = this.#files.get(loc.pack);
    if (!f) {
      const path = this.#pending.get(loc.pack) ?? join(this.#store.packsDir, loc.pack + ".pack");
      f = Deno.openSync(path, { read: true });
      this.#files.set(loc.pack, f);
    }
    return f;
  }

  close() {
    for (const f of this.#files.values()) f.close();
    this.#files.clear();
  }
}

function endsInside(loc: FrameLocation): AppError {
  return new AppError("integrity_error", `pack ${loc.pack} ends inside a frame`);
}

/**
 * The concatenated frames as a byte stream. `release` runs once when the
 * stream ends, fails or is cancelled.
 */
export function framesStream(
  store: FrameStore,
  frames: FrameRef[],
  release: () => void,
): ReadableStream<Uint8Array> {
  const reader = new PackReader(store);
  let i = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    reader.close();
    release();
  };
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        if (i >= frames.length) {
          finish();
          ctl.close();
          return;
        }
        // Frames stored back to back (a capture's, a chunk's sub-frames) are
        // read together, up to READ_RUN bytes: one read, not one per frame.
        const first = reader.location(frames[i++]);
        let size = first.size;
        while (i < frames.length && size < READ_RUN) {
          const next = reader.location(frames[i]);
          if (next.pack !== first.pack || next.offset !== first.offset + size) break;
          if (size + next.size > READ_RUN) break;
          size += next.size;
          i++;
        }
        ctl.enqueue(await reader.read({ ...first, size }));
      } catch (err) {
        finish();
        ctl.error(err);
      }
    },
    cancel() {
      finish();
    },
  }, { highWaterMark: 0 });
}
