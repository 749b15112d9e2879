/** Human output for the CLI: aligned tables and short units. Pure functions. */

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** Control characters from the server must not drive the terminal. */
function clean(v: unknown): string {
  if (v === null || v === undefined || v === "") return "-";
  // deno-lint-ignore no-control-regex
  return String(v).replace(/[\x00-\x1f\x7f]/g, "?");
}

/** Renders rows as left-aligned columns with a header line. */
export function table(headers: string[], rows: unknown[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(clean))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0)));
  return cells.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  "))
    .join("\n") + "\n";
}

// The shapes below are the API's JSON (routes/json.ts); only the fields shown are used.
interface WorkloadSummary {
  id: string;
  containers: { name: string; state: string }[];
  running: number;
  volumes: string[];
  skipped: number;
}

export function renderWorkloads(list: WorkloadSummary[]): string {
  if (!list.length) return "no workloads found\n";
  return table(
    ["WORKLOAD", "CONTAINERS", "VOLUMES", "SKIPPED"],
    list.map((w) => [
      w.id,
      `${w.running}/${w.containers.length} running`,
      w.volumes.join(",") || "-",
      w.skipped,
    ]),
  );
}

interface WorkloadDetail {
  id: string;
  containers: { name: string; state: string; service: string | null }[];
  volumes: {
    key: string;
    hostPath: string;
    destinations: { container: string; destination: string }[];
  }[];
  skipped: { container: string; destination: string; type: string; reason: string }[];
  lastVerifiedRestorable?: { id: string; createdAt: string; lastDrillAt: string } | null;
}

export function renderWorkload(w: WorkloadDetail): string {
  let out = `workload ${clean(w.id)}\n\n`;
  out += table(
    ["CONTAINER", "STATE", "SERVICE"],
    w.containers.map((c) => [c.name, c.state, c.service]),
  );
  out += "\n" + (w.volumes.length
    ? table(
      ["VOLUME", "HOST PATH", "MOUNTED AT"],
      w.volumes.map((v) => [
        v.key,
        v.hostPath,
        v.destinations.map((d) => `${d.container}:${d.destination}`).join(","),
      ]),
    )
    : "no snapshotable volumes\n");
  if (w.skipped.length) {
    out += "\n" + table(
      ["SKIPPED", "TYPE", "REASON"],
      w.skipped.map((s) => [`${s.container}:${s.destination}`, s.type, s.reason]),
    );
  }
  const v = w.lastVerifiedRestorable;
  out += v
    ? `\nlast verified restorable: ${clean(v.id)} (taken ${clean(v.createdAt)}, drill passed ${
      clean(v.lastDrillAt)
    })\n`
    : "\nlast verified restorable: none (no drill passed yet)\n";
  return out;
}

interface SnapshotJson {
  id: string;
  workload: string;
  createdAt: string;
  origin: string;
  label: string | null;
  sizeBytes: number;
  fileCount: number;
  quiesce: string;
  downtimeMs: number | null;
  consistent: boolean;
  lastVerifyOk: boolean | null;
}

export function renderSnapshots(list: SnapshotJson[]): string {
  if (!list.length) return "no snapshots\n";
  return table(
    ["SNAPSHOT", "CREATED", "ORIGIN", "SIZE", "FILES", "QUIESCE", "DOWNTIME", "VERIFIED", "LABEL"],
    list.map((s) => [
      s.id,
      s.createdAt.replace(/\.\d+Z$/, "Z"),
      s.origin + (s.consistent ? "" : " (inconsistent)"),
      formatBytes(s.sizeBytes),
      s.fileCount,
      s.quiesce,
      formatDuration(s.downtimeMs),
      s.lastVerifyOk === null ? "-" : s.lastVerifyOk ? "ok" : "FAILED",
      s.label,
    ]),
  );
}

export function renderSnapshot(s: SnapshotJson & { sha256: string; warnings: string[] }): string {
  let out = `snapshot ${clean(s.id)} of ${clean(s.workload)}: ${formatBytes(s.sizeBytes)}, ` +
    `${s.fileCount} files, downtime ${formatDuration(s.downtimeMs)}\nsha256 ${clean(s.sha256)}\n`;
  for (const w of s.warnings ?? []) out += `warning: ${clean(w)}\n`;
  return out;
}

interface EventJson {
  id: number;
  time: string;
  workload: string | null;
  kind: string;
  message: string;
}

export function renderEvents(list: EventJson[]): string {
  if (!list.length) return "no events\n";
  return table(
    ["TIME", "WORKLOAD", "KIND", "MESSAGE"],
    list.map((e) => [e.time.replace(/\.\d+Z$/, "Z"), e.workload, e.kind, e.message]),
  );
}

interface PlanJson {
  snapshotId: string;
  workload: string;
  foreign: boolean;
  volumes: { archiveKey: string; targetKey: string; hostPath: string; uncompressedBytes: number }[];
  space: { path: string; neededBytes: number; availableBytes: number }[];
  containersToStop: string[];
}

export function renderPlan(p: PlanJson): string {
  let out = `dry run: restore ${clean(p.snapshotId)} into ${clean(p.workload)}` +
    (p.foreign ? " (from another workload)" : "") + "\n\n";
  out += table(
    ["FROM ARCHIVE", "TO VOLUME", "HOST PATH", "SIZE"],
    p.volumes.map((v) => [v.archiveKey, v.targetKey, v.hostPath, formatBytes(v.uncompressedBytes)]),
  );
  if (p.space.length) {
    out += "\n" + table(
      ["FILESYSTEM OF", "NEEDED", "AVAILABLE"],
      p.space.map((s) => [s.path, formatBytes(s.neededBytes), formatBytes(s.availableBytes)]),
    );
  }
  out += `\ncontainers to stop: ${p.containersToStop.map(clean).join(", ") || "none"}\n`;
  return out;
}

export function progressLine(
  op: { kind: string; phase: string; bytesDone: number; bytesTotal: number | null },
): string {
  const pct = op.bytesTotal
    ? ` ${Math.min(100, Math.floor((op.bytesDone / op.bytesTotal) * 100))}%`
    : "";
  const total = op.bytesTotal ? ` / ${formatBytes(op.bytesTotal)}` : "";
  return `${clean(op.kind)}: ${clean(op.phase)} ${formatBytes(op.bytesDone)}${total}${pct}`;
}
