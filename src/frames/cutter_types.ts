/**
 * What the frame cutter (cutter.ts) is given, what it counts, and the marks
 * the packer leaves in its stream.
 */
import type { FramePool } from "./frame_pool.ts";
import type { FrameRef, FrameStore, PackWriter } from "./store.ts";
import type { FileRecord, ParentIndex, VirtualSource } from "./parent.ts";

export interface CutterStats {
  /** Frames of this snapshot, and how many were new to the store. */
  frameCount: number;
  newFrames: number;
  /** Compressed bytes this capture added to the store. */
  storedBytes: number;
  /** Compressed bytes of frames that already existed (shared). */
  sharedBytes: number;
  /** Tar bytes of large files referenced without being read. */
  reusedRawBytes: number;
}

export type Mark =
  | { at: number; kind: "cut" }
  | {
    at: number;
    kind: "region";
    end: number;
    rec?: FileRecord;
    chunks?: Uint8Array[];
    /** Sub-frame size when the file is page-structured (sub_frames.ts). */
    sub?: number;
    /** The parent's frames of this file, by chunk (for sub-frames to keep). */
    parentChunks?: FrameRef[][];
  }
  | { at: number; kind: "ref"; frames: FrameRef[]; rawLen: number; rec: FileRecord }
  | {
    at: number;
    kind: "data";
    len: number;
    rec: FileRecord;
    /** Content bytes (without padding) when a frame worker hashes them (`rec.sha256`), else -1. */
    pool: number;
  }
  | { at: number; kind: "virtual"; len: number; src: VirtualSource; rec: FileRecord };

export interface FrameCutterOptions {
  pack: PackWriter;
  /** Where the parent's frames are read from (virtual data of a group that changed). */
  store: FrameStore;
  pool: FramePool;
  level: number;
  /** Hash first and compress only frames the store lacks (incremental). */
  hashFirst: boolean;
  /** Name frames on this thread rather than in the pool (see hashOnCaller). */
  hashHere?: boolean;
  parent?: ParentIndex;
}
