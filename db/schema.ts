/** Catalog tables (Drizzle, SQLite/libsql). Migrations live in db/migrations. */
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** One archive file in <data>/archives. */
export const snapshots = sqliteTable("snapshots", {
  id: text("id").primaryKey(),
  /** The host whose data dir holds the archive (many hosts may share one catalog). */
  host: text("host").notNull().default(""),
  workload: text("workload").notNull(),
  createdAt: text("created_at").notNull(),
  /** capture | pre-restore | imported */
  origin: text("origin").notNull(),
  label: text("label"),
  /** complete: file durable and hashed. */
  status: text("status").notNull(),
  compression: text("compression").notNull(),
  /** File name relative to the archives dir. */
  file: text("file").notNull(),
  sizeBytes: integer("size_bytes").notNull(),
  uncompressedBytes: integer("uncompressed_bytes").notNull(),
  fileCount: integer("file_count").notNull(),
  skippedSpecial: integer("skipped_special").notNull().default(0),
  sha256: text("sha256").notNull(),
  quiesce: text("quiesce").notNull(),
  downtimeMs: integer("downtime_ms"),
  consistent: integer("consistent", { mode: "boolean" }).notNull().default(true),
  warnings: text("warnings", { mode: "json" }).$type<string[]>().notNull(),
  manifest: text("manifest", { mode: "json" }).$type<unknown>().notNull(),
  lastVerifiedAt: text("last_verified_at"),
  lastVerifyOk: integer("last_verify_ok", { mode: "boolean" }),
  lastVerifyError: text("last_verify_error"),
  /** Pinned snapshots are never pruned (SPEC §4.5, §17). */
  pinned: integer("pinned", { mode: "boolean" }).notNull().default(false),
  /** How long the capture took, start to durable archive (captures only). */
  durationMs: integer("duration_ms"),
  /** Per-volume content digest recorded at capture: manifest volume index → hex. */
  contentDigest: text("content_digest", { mode: "json" }).$type<Record<string, string>>(),
  lastDrillAt: text("last_drill_at"),
  lastDrillOk: integer("last_drill_ok", { mode: "boolean" }),
  lastDrillError: text("last_drill_error"),
  /** Frame store (SPEC §15): null for a single-file archive. Frames of its stream. */
  frameCount: integer("frame_count"),
  /** Compressed bytes this snapshot added to the frame store. */
  storedBytes: integer("stored_bytes"),
  /** Compressed bytes of its frames that other snapshots also hold. */
  sharedBytes: integer("shared_bytes"),
  /** The snapshot it was captured incrementally against. */
  parentId: text("parent_id"),
  /** Why a capture that could have been incremental was full. */
  fullReason: text("full_reason"),
}, (t) => [index("snapshots_workload_created").on(t.workload, t.createdAt)]);

/** Long operations: capture, restore, import, verify. */
export const operations = sqliteTable("operations", {
  id: text("id").primaryKey(),
  host: text("host").notNull().default(""),
  kind: text("kind").notNull(),
  workload: text("workload"),
  snapshotId: text("snapshot_id"),
  /** running | succeeded | failed | interrupted */
  state: text("state").notNull(),
  phase: text("phase").notNull(),
  bytesDone: integer("bytes_done").notNull().default(0),
  bytesTotal: integer("bytes_total"),
  result: text("result", { mode: "json" }).$type<unknown>(),
  error: text("error", { mode: "json" }).$type<{ code: string; message: string }>(),
  startedAt: text("started_at").notNull(),
  finishedAt: text("finished_at"),
});

/** Audit log. */
export const events = sqliteTable("events", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  /** The host that recorded it ("" for rows older than host scoping). */
  host: text("host").notNull().default(""),
  time: text("time").notNull(),
  workload: text("workload"),
  kind: text("kind").notNull(),
  message: text("message").notNull(),
  data: text("data", { mode: "json" }).$type<unknown>(),
}, (t) => [index("events_workload_time").on(t.workload, t.id)]);

/**
 * Workloads whose crash recovery failed: mutations are refused until resolved.
 * Per host: hosts sharing one catalog never clear each other's blocks.
 */
export const workloadBlocks = sqliteTable("workload_blocks", {
  host: text("host").notNull(),
  workload: text("workload").notNull(),
  reason: text("reason").notNull(),
  since: text("since").notNull(),
}, (t) => [primaryKey({ columns: [t.host, t.workload] })]);

/**
 * Old dirs of a restore that the pre-restore snapshot could not hold entirely
 * (SPEC §5 Guards): kept on disk until an operator deletes them.
 */
export const leftovers = sqliteTable("leftovers", {
  id: text("id").primaryKey(),
  host: text("host").notNull(),
  workload: text("workload").notNull(),
  /** The kept old dir on this host. */
  path: text("path").notNull(),
  volumeKey: text("volume_key").notNull(),
  /** Why it was kept: what the pre-restore snapshot skipped. */
  reason: text("reason").notNull(),
  /** The pre-restore snapshot that holds the rest, if any. */
  snapshotId: text("snapshot_id"),
  restoreOp: text("restore_op"),
  createdAt: text("created_at").notNull(),
}, (t) => [index("leftovers_host_workload").on(t.host, t.workload)]);

/** Next and last run per workload and kind (snapshot | drill), per host. */
export const schedules = sqliteTable("schedules", {
  host: text("host").notNull(),
  workload: text("workload").notNull(),
  kind: text("kind").notNull(),
  expression: text("expression").notNull(),
  nextRunAt: text("next_run_at"),
  lastRunAt: text("last_run_at"),
  lastResult: text("last_result"),
}, (t) => [primaryKey({ columns: [t.host, t.workload, t.kind] })]);

/** Notifications waiting for delivery (SPEC §11); `target` is a target id, never its URL. */
export const notifyOutbox = sqliteTable("notify_outbox", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  host: text("host").notNull(),
  target: text("target").notNull(),
  message: text("message", { mode: "json" }).$type<unknown>().notNull(),
  createdAt: text("created_at").notNull(),
  attempts: integer("attempts").notNull().default(0),
  nextAttemptAt: text("next_attempt_at").notNull(),
  /** pending | delivered | failed */
  state: text("state").notNull().default("pending"),
  deliveredAt: text("delivered_at"),
  lastError: text("last_error"),
}, (t) => [index("notify_outbox_due").on(t.host, t.state, t.nextAttemptAt)]);
/**
 * Off-host copies (SPEC §13), one row per snapshot, host and location. The
 * row is the upload's journal: written before the first byte is sent, its
 * `checkpoint` (upload id and finished parts) updated after every part, so a
 * restarted server resumes or restarts the copy. `ownerHost` is the host that
 * wrote the object: only that host ever prunes it.
 */
export const remoteCopies = sqliteTable("remote_copies", {
  snapshotId: text("snapshot_id").notNull(),
  host: text("host").notNull(),
  /** The remote URL without credentials (`s3://bucket/prefix`, `file:///path`). */
  location: text("location").notNull(),
  /** pending | uploading | present | failed */
  state: text("state").notNull(),
  objectKey: text("object_key").notNull(),
  ownerHost: text("owner_host").notNull(),
  encrypted: integer("encrypted", { mode: "boolean" }).notNull().default(false),
  sizeBytes: integer("size_bytes"),
  /** sha256 of the stored object (the ciphertext when encrypted). */
  objectSha256: text("object_sha256"),
  attempts: integer("attempts").notNull().default(0),
  lastError: text("last_error"),
  nextAttemptAt: text("next_attempt_at"),
  checkpoint: text("checkpoint", { mode: "json" }).$type<unknown>(),
  uploadedAt: text("uploaded_at"),
}, (t) => [
  primaryKey({ columns: [t.snapshotId, t.host, t.location] }),
  index("remote_copies_host_state").on(t.host, t.state),
]);
