/** `GET /api/v1/storage` (SPEC §15): what the frame store holds against what snapshots expand to. */
import type { SnapshotRow } from "../../db/catalog.ts";
import { isFramedFile } from "./snapshot_frames.ts";
import type { FrameStore } from "./store.ts";

export interface StorageInfo {
  /** Bytes of all frames in the store (each frame once). */
  storeBytes: number;
  frameCount: number;
  packCount: number;
  /** Bytes of pack files, duplicates and not yet compacted frames included. */
  packBytes: number;
  framedSnapshots: number;
  /** Sum of the standalone stream sizes of all framed snapshots. */
  logicalBytes: number;
  /** logicalBytes / storeBytes (1 when nothing is shared; 0 when empty). */
  dedupRatio: number;
  /** Snapshots kept as single archive files (gzip, none, imports, older ones). */
  fileSnapshots: number;
  fileBytes: number;
}

export function storageInfo(store: FrameStore, rows: SnapshotRow[]): StorageInfo {
  let frameCount = 0;
  let storeBytes = 0;
  for (const [, loc] of store.entries()) {
    frameCount++;
    storeBytes += loc.size;
  }
  let packBytes = 0;
  for (const b of store.packs().values()) packBytes += b;
  const framed = rows.filter((r) => isFramedFile(r.file));
  const files = rows.filter((r) => !isFramedFile(r.file));
  const logicalBytes = framed.reduce((n, r) => n + r.sizeBytes, 0);
  return {
    storeBytes,
    frameCount,
    packCount: store.packs().size,
    packBytes,
    framedSnapshots: framed.length,
    logicalBytes,
    dedupRatio: storeBytes > 0 ? Math.round((logicalBytes / storeBytes) * 1000) / 1000 : 0,
    fileSnapshots: files.length,
    fileBytes: files.reduce((n, r) => n + r.sizeBytes, 0),
  };
}
