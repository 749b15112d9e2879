/**
 * What an incremental capture knows of its parent snapshot: each reusable
 * file's identity, content sha256 and place in the parent's frames, and the
 * parent's frames themselves, read back (and checked) when a changed group
 * needs the bytes of the unchanged files in it.
 */
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import type { EntryStat } from "../pack/volume_fs.ts";
import { PackReader } from "./frame_reader.ts";
import type { FrameRef, FrameStore } from "./store.ts";

/** What incremental capture remembers of a large file: its identity and its frames. */
export interface FileRecord {
  path: string;
  dev: number;
  inoHi: number;
  inoLo: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  /**
   * Frames [first, first + count) of the snapshot's list hold exactly its data;
   * count 0: a small file whose data (and padding) is inside frame `first` at `offset`.
   */
  first: number;
  count: number;
  offset?: number;
  /** sha256 of its content (for the content digest when it is referenced, not read). */
  sha256?: string;
}

/** The parent's files and frames, for reuse without reading. */
export interface ParentIndex {
  files: Map<string, FileRecord>;
  frames: FrameRef[];
  /** Recipe → the parent's frame with it (group frames only). */
  recipes: Map<string, FrameRef>;
}

/** Where an unchanged small file's data is in the parent's frames. */
export interface VirtualSource {
  frame: FrameRef;
  offset: number;
  /** The file's size (its content sha256 is checked when its bytes are copied). */
  size: number;
  sha256: string;
}

/** A parent's frame that an incremental capture needed could not be read: capture in full instead. */
export class ParentFrameError extends Error {
  constructor(readonly frameId: string, cause: unknown) {
    super(
      `parent frame ${frameId} cannot be read: ${cause instanceof Error ? cause.message : cause}`,
    );
  }
}

export type FileIdentity = Omit<FileRecord, "first" | "count" | "sha256" | "offset">;

export function identity(path: string, st: EntryStat): FileIdentity {
  return {
    path,
    dev: st.dev,
    inoHi: st.inoHi,
    inoLo: st.inoLo,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
  };
}

export function sameFile(a: FileIdentity, b: FileIdentity) {
  return a.dev === b.dev && a.inoHi === b.inoHi && a.inoLo === b.inoLo && a.size === b.size &&
    a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** The parent's frames, decoded one at a time (the last one cached), for copying files out. */
export class ParentFrames {
  #store: FrameStore;
  #reader?: PackReader;
  #last?: { id: string; bytes: Uint8Array };

  constructor(store: FrameStore) {
    this.#store = store;
  }

  /** Copies each unchanged file's data (and padding) into `dst` at `off`, checked against its sha256. */
  fill(dst: Uint8Array, holes: { off: number; len: number; src: VirtualSource }[]): void {
    for (const h of holes) {
      const bytes = this.#frameBytes(h.src.frame);
      if (h.src.offset + h.len > bytes.length) {
        throw new ParentFrameError(h.src.frame.id, "it is shorter than its file records");
      }
      const content = bytes.subarray(h.src.offset, h.src.offset + h.src.size);
      // Never carry damage that zstd's checksum missed into a new frame.
      if (createHash("sha256").update(content).digest("hex") !== h.src.sha256) {
        throw new ParentFrameError(h.src.frame.id, "a file in it is not what its record says");
      }
      dst.set(bytes.subarray(h.src.offset, h.src.offset + h.len), h.off);
    }
  }

  /**
   * The compressed bytes of `refs` back to back, with where each starts; or
   * undefined when any cannot be read (then nothing is kept from them).
   */
  compressed(refs: FrameRef[]): { bytes: Uint8Array; starts: number[] } | undefined {
    this.#reader ??= new PackReader(this.#store);
    try {
      const locs = refs.map((f) => this.#reader!.location(f));
      const bytes = new Uint8Array(locs.reduce((n, l) => n + l.size, 0));
      const starts: number[] = [];
      let at = 0;
      for (const loc of locs) {
        starts.push(at);
        this.#reader.readSync(loc, bytes.subarray(at, at + loc.size));
        at += loc.size;
      }
      return { bytes, starts };
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.#reader?.close();
    this.#reader = undefined;
  }

  #frameBytes(f: FrameRef): Uint8Array {
    if (this.#last?.id === f.id) return this.#last.bytes;
    this.#reader ??= new PackReader(this.#store);
    let bytes: Uint8Array;
    try {
      const compressed = this.#reader.readSync(this.#reader.location(f));
      bytes = new Uint8Array(zlib.zstdDecompressSync(compressed));
    } catch (err) {
      throw new ParentFrameError(f.id, err);
    }
    if (bytes.length !== f.rawSize) {
      throw new ParentFrameError(f.id, "it decodes to the wrong size");
    }
    this.#last = { id: f.id, bytes };
    return bytes;
  }
}
