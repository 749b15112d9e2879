/**
 * Stable JSON shapes of the API. Rows and engine objects are mapped field by
 * field so an internal column or field never leaks by accident.
 */
import type { EventRow, SnapshotRow } from "../db/catalog.ts";
import type { Workload } from "../src/core/model.ts";
import { type Location, locationsFor } from "../src/remote/service.ts";

export function workloadJson(w: Workload) {
  return {
    id: w.id,
    containers: w.containers.map((c) => ({
      id: c.id,
      name: c.name,
      state: c.state,
      service: c.service ?? null,
      swarmService: c.swarmService ?? null,
      dependsOn: c.dependsOn,
      labels: c.labels,
    })),
    volumes: w.volumes.map((v) => ({
      key: v.key,
      type: v.type,
      name: v.name ?? null,
      source: v.source ?? null,
      hostPath: v.hostPath,
      destinations: v.destinations.map((d) => ({
        container: d.container,
        destination: d.destination,
        readOnly: d.readOnly,
      })),
    })),
    skipped: w.skipped.map((s) => ({
      container: s.container,
      destination: s.destination,
      type: s.type,
      source: s.source ?? null,
      name: s.name ?? null,
      reason: s.reason,
    })),
    retention: { error: w.retentionError ?? null },
    services: (w.services ?? []).map((s) => ({
      id: s.id,
      name: s.name,
      mode: s.mode,
      replicas: s.replicas ?? null,
      labels: s.labels,
    })),
  };
}

/** Short form for the list: counts instead of details. */
export function workloadSummaryJson(w: Workload) {
  return {
    id: w.id,
    containers: w.containers.map((c) => ({ id: c.id, name: c.name, state: c.state })),
    services: (w.services ?? []).map((s) => s.name),
    running: w.containers.filter((c) => c.state === "running").length,
    volumes: w.volumes.map((v) => v.key),
    skipped: w.skipped.length,
  };
}

export function snapshotJson(
  s: SnapshotRow & { locations?: Location[] },
  opts: { manifest?: boolean } = {},
) {
  return {
    id: s.id,
    workload: s.workload,
    createdAt: s.createdAt,
    origin: s.origin,
    label: s.label,
    status: s.status,
    compression: s.compression,
    sizeBytes: s.sizeBytes,
    uncompressedBytes: s.uncompressedBytes,
    fileCount: s.fileCount,
    skippedSpecial: s.skippedSpecial,
    sha256: s.sha256,
    quiesce: s.quiesce,
    downtimeMs: s.downtimeMs,
    consistent: s.consistent,
    warnings: s.warnings,
    lastVerifiedAt: s.lastVerifiedAt,
    lastVerifyOk: s.lastVerifyOk,
    lastVerifyError: s.lastVerifyError,
    // Frame store (SPEC §15); null for a single-file archive.
    frameCount: s.frameCount,
    storedBytes: s.storedBytes,
    sharedBytes: s.sharedBytes,
    parentId: s.parentId,
    fullReason: s.fullReason,
    pinned: s.pinned,
    durationMs: s.durationMs,
    lastDrillAt: s.lastDrillAt,
    lastDrillOk: s.lastDrillOk,
    lastDrillError: s.lastDrillError,
    locations: s.locations ?? locationsFor(s, undefined, false),
    ...(opts.manifest ? { manifest: s.manifest } : {}),
  };
}

export function eventJson(e: EventRow) {
  return {
    id: e.id,
    time: e.time,
    workload: e.workload,
    kind: e.kind,
    message: e.message,
    data: e.data ?? null,
  };
}
