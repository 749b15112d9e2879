/**
 * Domain types shared by discovery, capture, restore and the API.
 * Pure data: no I/O here.
 */
import { z } from "zod";
import { MANIFEST_FORMAT } from "./manifest_names.ts";

export type QuiesceMode = "stop" | "pause" | "none";
export const QuiesceModeSchema = z.enum(["stop", "pause", "none"]);
export type Compression = "zstd" | "gzip" | "none";
export const CompressionSchema = z.enum(["zstd", "gzip", "none"]);

/** The one table of archive file endings and media types, per compression. */
export const ARCHIVE_FORMATS: Record<Compression, { extension: string; contentType: string }> = {
  zstd: { extension: ".tar.zst", contentType: "application/zstd" },
  gzip: { extension: ".tar.gz", contentType: "application/gzip" },
  none: { extension: ".tar", contentType: "application/x-tar" },
};

export function archiveExtension(c: Compression): string {
  return ARCHIVE_FORMATS[c].extension;
}

/** Workload ids are label values or container names; this keeps them path-safe. */
export const WorkloadIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, {
  message: "workload id must be 1-128 chars of letters, digits, '_', '.', '-'",
});

export interface ContainerInfo {
  id: string;
  name: string;
  /** Docker state: running, paused, exited, created, restarting, dead. */
  state: string;
  labels: Record<string, string>;
  /** Compose service name, if any. */
  service?: string;
  /** Names (service or container) this container must start after. */
  dependsOn: string[];
  /**
   * Id of the Swarm service whose task this container is. Such a container is
   * never stopped by itself (Swarm would start a replacement): its service is
   * scaled instead (SPEC §2).
   */
  swarmService?: string;
}

/** A Swarm service of a workload (SPEC §2), quiesced at the service level. */
export interface ServiceInfo {
  id: string;
  name: string;
  mode: "replicated" | "global" | "replicated-job" | "global-job";
  /** Desired replicas of a replicated service (what a stop scales back to). */
  replicas?: number;
  /** Service labels that count like container labels (volsnap.*, stack namespace). */
  labels: Record<string, string>;
}

export interface MountRef {
  container: string; // container name
  destination: string;
  readOnly: boolean;
}

/** A snapshotable volume: a local named volume or a bind-mounted directory. */
export interface VolumeTarget {
  /** `volume:<name>` or `bind:<source>`. */
  key: string;
  type: "volume" | "bind";
  name?: string;
  source?: string;
  /** Directory on this host that holds the data. */
  hostPath: string;
  destinations: MountRef[];
}

export interface SkippedMount {
  container: string;
  destination: string;
  type: string;
  source?: string;
  name?: string;
  reason: string;
}

export interface Workload {
  id: string;
  containers: ContainerInfo[];
  volumes: VolumeTarget[];
  skipped: SkippedMount[];
  /** Why retention prunes nothing for this workload (a label that does not parse). */
  retentionError?: string;
  /** Swarm services of the workload (absent or empty: none). */
  services?: ServiceInfo[];
}

/** One volume as recorded in an archive's manifest. */
export const ManifestVolumeSchema = z.object({
  index: z.number().int().min(0).max(9999),
  key: z.string().min(1).max(4096),
  type: z.enum(["volume", "bind"]),
  name: z.string().max(4096).optional(),
  source: z.string().max(4096).optional(),
  destinations: z.array(z.object({
    container: z.string().max(512),
    destination: z.string().max(4096),
    readOnly: z.boolean().optional(),
  })).max(1000),
  /** Owner and mode of the volume root directory itself. */
  root: z.object({
    uid: z.number().int().min(0),
    gid: z.number().int().min(0),
    mode: z.number().int().min(0).max(0o7777),
  }),
});
export type ManifestVolume = z.infer<typeof ManifestVolumeSchema>;

export { MANIFEST_FORMAT, MANIFEST_NAME } from "./manifest_names.ts";

export const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  snapshotId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  workload: z.string().max(256),
  createdAt: z.string().max(64),
  tool: z.object({ name: z.string().max(64), version: z.string().max(64) }),
  quiesce: QuiesceModeSchema,
  label: z.string().max(256).optional(),
  volumes: z.array(ManifestVolumeSchema).max(1000),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Statistics of a written or read archive. */
export interface ArchiveStats {
  sizeBytes: number;
  sha256: string;
  uncompressedBytes: number;
  fileCount: number;
  /** Sockets, fifos, devices: not archived, counted. */
  skippedSpecial: number;
  /** Files that changed or vanished while being read, and similar. */
  warnings: string[];
}

export type ProgressFn = (p: { phase?: string; bytesDone?: number; bytesTotal?: number }) => void;
