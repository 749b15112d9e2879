/**
 * Which audit events become notifications, and as what (SPEC §11): capture,
 * restore, drill, import, upload finished or failed; recovery actions;
 * schedule skipped; a workload blocked. Every other event kind is not sent.
 */
import type { NotifyMessage } from "./targets.ts";

const MAP: Record<string, { event: string; ok: boolean }> = {
  capture_started: { event: "capture", ok: true },
  snapshot_created: { event: "capture", ok: true },
  capture_failed: { event: "capture", ok: false },
  restore_completed: { event: "restore", ok: true },
  restore_rolled_back: { event: "restore", ok: false },
  pre_restore_failed: { event: "restore", ok: false },
  drill_passed: { event: "drill", ok: true },
  drill_failed: { event: "drill", ok: false },
  snapshot_imported: { event: "import", ok: true },
  import_rejected: { event: "import", ok: false },
  upload_completed: { event: "upload", ok: true },
  upload_failed: { event: "upload", ok: false },
  snapshot_verify_failed: { event: "verify", ok: false },
  capture_recovered: { event: "recovery", ok: true },
  restore_recovered: { event: "recovery", ok: true },
  post_hook_recovered: { event: "recovery", ok: true },
  recovery_failed: { event: "recovery", ok: false },
  workload_blocked: { event: "workload_blocked", ok: false },
  schedule_skipped: { event: "schedule_skipped", ok: false },
};

/** The notification for an audit event, or null when it is not one we send. */
export function messageForEvent(
  kind: string,
  message: string,
  workload: string | undefined,
  data: unknown,
  at: Date,
): NotifyMessage | null {
  const m = MAP[kind];
  if (!m) return null;
  const d = (data ?? {}) as Record<string, unknown>;
  // A pre-restore snapshot is part of the restore, not a capture of its own.
  if (
    kind === "snapshot_created" && (d.restoreOp || (d.origin && d.origin !== "capture" &&
      d.origin !== "scheduled"))
  ) return null;
  const out: NotifyMessage = {
    event: m.event,
    workload: workload ?? null,
    ok: m.ok,
    message,
    at: at.toISOString(),
  };
  if (typeof d.snapshotId === "string") out.snapshotId = d.snapshotId;
  if (typeof d.operationId === "string") out.operationId = d.operationId;
  if (kind === "capture_started") out.start = true;
  return out;
}
