/**
 * Where a snapshot's archive lives, how a workload's volumes are written into
 * one, and the catalog row that describes it: shared by capture, the
 * pre-restore snapshot and import.
 */
import { join } from "node:path";
import type { SnapshotRow } from "../../db/catalog.ts";
import { writeSnapshotArchive } from "../pack/writer.ts";
import {
  archiveExtension,
  type ArchiveStats,
  type Compression,
  type Manifest,
  MANIFEST_FORMAT,
  type MountRef,
  type QuiesceMode,
} from "../core/model.ts";
import { TOOL_NAME, VERSION } from "../core/version.ts";
import type { EngineContext } from "./context.ts";
import type { ArchiveLimits } from "../tar/limits.ts";
import { AGE_SUFFIX } from "../crypto/age.ts";

/**
 * The recipients local archives are encrypted for (VOLSNAP_ENCRYPT_LOCAL),
 * or undefined: then they are kept plain.
 */
export function localRecipients(ctx: Pick<EngineContext, "config">): string[] | undefined {
  const age = ctx.config.age;
  return age?.encryptLocal && age.recipients.length ? age.recipients : undefined;
}

/**
 * `file` is relative to the archives dir (what the catalog stores). With
 * `encrypted` it is `<id>.tar.zst.age` (writeVolumesArchive's `encryptFor`).
 */
export async function archiveLocation(
  ctx: EngineContext,
  workload: string,
  id: string,
  compression: Compression,
  encrypted = false,
): Promise<{ file: string; finalPath: string }> {
  await Deno.mkdir(join(ctx.paths.archives, workload), { recursive: true, mode: 0o700 });
  const file = `${workload}/${id}${archiveExtension(compression)}${encrypted ? AGE_SUFFIX : ""}`;
  return { file, finalPath: join(ctx.paths.archives, file) };
}

export interface VolumeSource {
  key: string;
  type: "volume" | "bind";
  name?: string;
  source?: string;
  destinations: MountRef[];
  /** The directory whose tree is archived (the live dir, or an old dir). */
  hostPath: string;
}

/** Streams `volumes` into a durable archive at `finalPath`. */
export function writeVolumesArchive(p: {
  finalPath: string;
  id: string;
  workload: string;
  createdAt: string;
  quiesce: QuiesceMode;
  label?: string;
  compression: Compression;
  volumes: VolumeSource[];
  onProgress?: (bytes: number) => void;
  onWarning: (w: string) => void;
  /** The reader's limits (ctx.limits): a capture beyond one fails instead of storing. */
  limits?: ArchiveLimits;
  /** Aborts the capture (server shutdown); the partial file is removed. */
  signal?: AbortSignal;
  /** Keep the file age-encrypted for these recipients (localRecipients). */
  encryptFor?: string[];
}): Promise<{ manifest: Manifest; stats: ArchiveStats }> {
  return writeSnapshotArchive({
    finalPath: p.finalPath,
    compression: p.compression,
    manifest: {
      format: MANIFEST_FORMAT,
      snapshotId: p.id,
      workload: p.workload,
      createdAt: p.createdAt,
      tool: { name: TOOL_NAME, version: VERSION },
      quiesce: p.quiesce,
      label: p.label,
      volumes: p.volumes.map((v, index) => ({
        index,
        key: v.key,
        type: v.type,
        name: v.name,
        source: v.source,
        destinations: v.destinations,
      })),
    },
    sources: p.volumes.map((v, index) => ({ index, hostPath: v.hostPath })),
    onProgress: p.onProgress,
    onWarning: p.onWarning,
    limits: p.limits,
    signal: p.signal,
    encryptFor: p.encryptFor,
  });
}

/** The catalog row of a complete, durable archive. */
export function snapshotRow(ctx: EngineContext, p: {
  id: string;
  workload: string;
  createdAt: string;
  origin: "capture" | "scheduled" | "pre-restore" | "imported";
  label: string | null;
  compression: Compression;
  file: string;
  stats: ArchiveStats;
  manifest: Manifest;
  quiesce: string;
  downtimeMs: number | null;
  consistent: boolean;
  warnings: string[];
  verifiedAt?: string;
  durationMs?: number;
  contentDigest?: Record<string, string>;
  /** Kept as frames (SPEC §15). */
  frames?: { frameCount: number; storedBytes: number; sharedBytes: number; fullReason?: string };
  parentId?: string;
}): SnapshotRow {
  return {
    id: p.id,
    host: ctx.catalog.host,
    workload: p.workload,
    createdAt: p.createdAt,
    origin: p.origin,
    label: p.label,
    status: "complete",
    compression: p.compression,
    file: p.file,
    sizeBytes: p.stats.sizeBytes,
    uncompressedBytes: p.stats.uncompressedBytes,
    fileCount: p.stats.fileCount,
    skippedSpecial: p.stats.skippedSpecial,
    sha256: p.stats.sha256,
    quiesce: p.quiesce,
    downtimeMs: p.downtimeMs,
    consistent: p.consistent,
    warnings: p.warnings,
    manifest: p.manifest,
    lastVerifiedAt: p.verifiedAt ?? null,
    lastVerifyOk: p.verifiedAt ? true : null,
    lastVerifyError: null,
    pinned: false,
    durationMs: p.durationMs ?? null,
    contentDigest: p.contentDigest ?? null,
    lastDrillAt: null,
    lastDrillOk: null,
    lastDrillError: null,
    frameCount: p.frames?.frameCount ?? null,
    storedBytes: p.frames?.storedBytes ?? null,
    sharedBytes: p.frames?.sharedBytes ?? null,
    parentId: p.parentId ?? null,
    fullReason: p.frames?.fullReason ?? null,
  };
}
