/**
 * The contract between the HTTP/CLI layer and the engine. Routes never touch
 * Docker or the filesystem directly; they call an Engine.
 */
import type { LeftoverRow, SnapshotRow } from "../../db/catalog.ts";
import type { StorageInfo } from "../frames/storage_info.ts";
import type { Location } from "../remote/service.ts";

/** A catalog row plus where its copies are (SPEC §13 `locations`). */
export type SnapshotView = SnapshotRow & { locations?: Location[] };
import type { Compression, ProgressFn, QuiesceMode, Workload } from "../core/model.ts";

export interface CaptureRequest {
  quiesce?: QuiesceMode;
  label?: string;
  compression?: Compression;
  /** Internal (not in the API body): the scheduler captures with origin `scheduled`. */
  origin?: "capture" | "scheduled";
}

export interface RestoreRequest {
  snapshotId: string;
  dryRun?: boolean;
  allowForeign?: boolean;
  /** Restrict to these volume keys (manifest keys or current target keys). */
  volumes?: string[];
}

export interface RestorePlanVolume {
  index: number;
  archiveKey: string;
  targetKey: string;
  hostPath: string;
  destination: string;
  uncompressedBytes: number;
}

export interface RestorePlan {
  snapshotId: string;
  workload: string;
  foreign: boolean;
  volumes: RestorePlanVolume[];
  /** Per filesystem (keyed by a mount/dev id): bytes needed vs available. */
  space: {
    filesystem: string;
    path: string;
    neededBytes: number;
    availableBytes: number;
    neededInodes: number;
    /** null where the filesystem does not count inodes. */
    freeInodes: number | null;
  }[];
  containersToStop: string[];
}

export interface RestoreResult {
  snapshotId: string;
  workload: string;
  volumes: string[];
  downtimeMs: number;
  preRestoreSnapshotId?: string;
  /** Set when the data was restored but a container would not start. */
  startError?: string;
  /** Set when the pre-restore capture failed and old dirs were kept. */
  preRestoreError?: string;
  /** Old dirs kept because the pre-restore snapshot does not hold all of them. */
  leftovers?: { id: string; path: string; reason: string }[];
}

export interface VerifyResult {
  snapshotId: string;
  ok: boolean;
  sha256: string;
  fileCount: number;
  uncompressedBytes: number;
  error?: string;
  verifiedAt: string;
}

export interface OpContext {
  id: string;
  progress: ProgressFn;
  /**
   * Aborted when the server shuts down: the operation stops at its next safe
   * point (never between a restore's first swap and its commit) and brings
   * back what it quiesced before it settles.
   */
  signal?: AbortSignal;
}

/**
 * A validated operation that already holds its workload lock. `run` must be
 * called exactly once; it releases the lock when it settles.
 */
export interface PreparedOperation<T> {
  kind: "capture" | "restore" | "import" | "verify" | "drill";
  workload?: string;
  snapshotId?: string;
  run(ctx: OpContext): Promise<T>;
  /** Releases the lock without running (e.g. the request was dropped). */
  cancel(): void;
}

export interface ArchiveDownload {
  stream: ReadableStream<Uint8Array>;
  sizeBytes: number;
  sha256: string;
  fileName: string;
}

export interface Engine {
  health(): Promise<{ docker: boolean; dockerVersion?: string }>;
  listWorkloads(): Promise<Workload[]>;
  /** Throws not_found. */
  getWorkload(wid: string): Promise<Workload>;
  listSnapshots(wid: string): Promise<SnapshotView[]>;
  getSnapshot(sid: string): Promise<SnapshotView>;
  deleteSnapshot(sid: string): Promise<void>;
  openArchive(sid: string): Promise<ArchiveDownload>;
  /** Throws workload_busy (409) at once when the workload is locked. */
  prepareCapture(wid: string, req: CaptureRequest): Promise<PreparedOperation<SnapshotRow>>;
  /** Dry run: all pre-flight checks, no side effects. */
  planRestore(wid: string, req: RestoreRequest): Promise<RestorePlan>;
  prepareRestore(wid: string, req: RestoreRequest): Promise<PreparedOperation<RestoreResult>>;
  /** The upload is read by `run`: callers must run it while the request body is open. */
  prepareImport(
    wid: string,
    body: ReadableStream<Uint8Array>,
    contentLength?: number,
  ): Promise<PreparedOperation<SnapshotRow>>;
  prepareVerify(sid: string): Promise<PreparedOperation<VerifyResult>>;
  /** Old dirs kept by restores on this host, newest first. */
  listLeftovers(workload?: string): Promise<LeftoverRow[]>;
  /** Deletes a kept old dir and its row. Throws not_found, workload_busy. */
  deleteLeftover(id: string): Promise<void>;
  /** The frame store's size against the snapshots it holds (SPEC §15). */
  storage(): Promise<StorageInfo>;
}
