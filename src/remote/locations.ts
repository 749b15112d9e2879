/** The `locations` of a snapshot in the API: its local file and its off-host copy. */
import type { RemoteCopyRow, SnapshotRow } from "../../db/catalog.ts";
import type { Location } from "./types.ts";

export function locationsFor(
  r: SnapshotRow,
  copy: RemoteCopyRow | undefined,
  queued: boolean,
): Location[] {
  const out: Location[] = [];
  if (r.file) out.push({ kind: "local", state: "present" });
  if (copy || queued) {
    out.push({
      kind: "remote",
      state: copy?.state === "present"
        ? "present"
        : copy?.state === "failed"
        ? "failed"
        : "pending",
      location: copy?.location,
      encrypted: copy?.encrypted,
      attempts: copy?.attempts ?? 0,
      lastError: copy?.lastError ?? null,
      uploadedAt: copy?.uploadedAt ?? null,
    });
  }
  return out;
}
