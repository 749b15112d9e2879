/**
 * Prometheus text exposition (SPEC §12), pure: the caller gathers the
 * numbers (catalog queries, in-process histogram) and this renders them in
 * the format `promtool check metrics` accepts (HELP and TYPE per family,
 * escaped label values, `_total` counters, cumulative histogram buckets).
 */

export interface WorkloadSnapshotStats {
  workload: string;
  lastSuccessAt: string;
  durationSeconds: number | null;
  sizeBytes: number;
  downtimeSeconds: number | null;
}

export interface MetricsInput {
  version: string;
  snapshots: WorkloadSnapshotStats[];
  operations: { kind: string; result: string; count: number }[];
  downtime: Histogram;
  /** Per workload: its newest drill's result and its newest passed drill. */
  drills: { workload: string; lastSuccessAt: string | null; lastOk: boolean }[];
  remotePendingUploads: number;
  /** Every known workload, 1 when blocked. */
  blocked: { workload: string; blocked: boolean }[];
}

/** Seconds buckets of `volsnap_downtime_seconds`. */
export const DOWNTIME_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** A small in-process histogram per `kind`. */
export class Histogram {
  readonly buckets: number[];
  readonly #series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(buckets = DOWNTIME_BUCKETS) {
    this.buckets = buckets;
  }

  observe(kind: string, value: number): void {
    let s = this.#series.get(kind);
    if (!s) this.#series.set(kind, s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 });
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]++;
    });
    s.sum += value;
    s.count++;
  }

  series(): [string, { counts: number[]; sum: number; count: number }][] {
    return [...this.#series.entries()].sort(([a], [b]) => a.localeCompare(b));
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

export function renderMetrics(m: MetricsInput): string {
  const out: string[] = [];
  const family = (
    name: string,
    type: string,
    help: string,
    rows: [Record<string, string>, number][],
  ) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of rows) out.push(`${name}${labels(l)} ${num(v)}`);
  };
  const perWorkload = (pick: (s: WorkloadSnapshotStats) => number | null) =>
    m.snapshots.flatMap((s): [Record<string, string>, number][] => {
      const v = pick(s);
      return v === null ? [] : [[{ workload: s.workload }, v]];
    });

  family("volsnap_build_info", "gauge", "Build information.", [[{ version: m.version }, 1]]);
  family(
    "volsnap_snapshot_last_success_timestamp_seconds",
    "gauge",
    "Creation time of the newest complete capture of a workload.",
    perWorkload((s) => seconds(s.lastSuccessAt)),
  );
  family(
    "volsnap_snapshot_last_duration_seconds",
    "gauge",
    "How long the newest capture of a workload took.",
    perWorkload((s) => s.durationSeconds),
  );
  family(
    "volsnap_snapshot_last_size_bytes",
    "gauge",
    "Archive size of the newest capture of a workload.",
    perWorkload((s) => s.sizeBytes),
  );
  family(
    "volsnap_snapshot_last_downtime_seconds",
    "gauge",
    "Time the workload was stopped or paused for its newest capture.",
    perWorkload((s) => s.downtimeSeconds),
  );
  family(
    "volsnap_operations_total",
    "counter",
    "Finished long operations by kind and result.",
    m.operations.map((o) => [{ kind: o.kind, result: o.result }, o.count]),
  );
  out.push(
    "# HELP volsnap_downtime_seconds Downtime of workloads during operations of this process.",
    "# TYPE volsnap_downtime_seconds histogram",
  );
  for (const [kind, s] of m.downtime.series()) {
    m.downtime.buckets.forEach((b, i) => {
      out.push(`volsnap_downtime_seconds_bucket${labels({ kind, le: num(b) })} ${s.counts[i]}`);
    });
    out.push(`volsnap_downtime_seconds_bucket${labels({ kind, le: "+Inf" })} ${s.count}`);
    out.push(`volsnap_downtime_seconds_sum${labels({ kind })} ${num(s.sum)}`);
    out.push(`volsnap_downtime_seconds_count${labels({ kind })} ${s.count}`);
  }
  family(
    "volsnap_drill_last_success_timestamp_seconds",
    "gauge",
    "Time of the newest passed restore drill of a workload.",
    m.drills.flatMap((d): [Record<string, string>, number][] =>
      d.lastSuccessAt ? [[{ workload: d.workload }, seconds(d.lastSuccessAt)]] : []
    ),
  );
  family(
    "volsnap_drill_last_ok",
    "gauge",
    "1 when the newest restore drill of a workload passed, 0 when it failed.",
    m.drills.map((d) => [{ workload: d.workload }, d.lastOk ? 1 : 0]),
  );
  family(
    "volsnap_remote_pending_uploads",
    "gauge",
    "Snapshots waiting for their off-host copy.",
    [[{}, m.remotePendingUploads]],
  );
  family(
    "volsnap_workload_blocked",
    "gauge",
    "1 while a workload's crash recovery failed and mutations are refused.",
    m.blocked.map((b) => [{ workload: b.workload }, b.blocked ? 1 : 0]),
  );
  return out.join("\n") + "\n";
}
