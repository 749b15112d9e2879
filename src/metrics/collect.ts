/**
 * The live side of /metrics: an in-process downtime histogram fed by audit
 * events, plus four aggregate catalog queries per scrape (no Docker call, so
 * a scrape stays cheap while Docker is slow or down).
 */
import type { Catalog } from "../../db/catalog.ts";
import { metricsFromCatalog } from "../../db/ops_store.ts";
import { Histogram, renderMetrics } from "./render.ts";

export interface Metrics {
  /** Feed of audit events (ctx.onEvent): downtime observations. */
  observe(e: { kind: string; data?: unknown }): void;
  render(): Promise<string>;
}

export function createMetrics(deps: {
  catalog: Catalog;
  version: string;
  /** Off-host copies not made yet (0 until off-host storage reports it). */
  remotePending?: () => Promise<number>;
}): Metrics {
  const downtime = new Histogram();
  return {
    observe({ kind, data }) {
      const d = (data ?? {}) as { downtimeMs?: unknown; restoreOp?: unknown };
      if (typeof d.downtimeMs !== "number") return;
      if (kind === "snapshot_created" && !d.restoreOp) {
        downtime.observe("capture", d.downtimeMs / 1000);
      }
      if (kind === "restore_completed") downtime.observe("restore", d.downtimeMs / 1000);
    },
    async render() {
      const c = await metricsFromCatalog(deps.catalog);
      const blocked = new Set(c.blocked);
      const workloads = new Set([...c.snapshots.map((s) => s.workload), ...blocked]);
      return renderMetrics({
        version: deps.version,
        snapshots: c.snapshots,
        operations: c.operations,
        downtime,
        drills: c.drills,
        remotePendingUploads: (await deps.remotePending?.()) ?? 0,
        blocked: [...workloads].sort().map((w) => ({ workload: w, blocked: blocked.has(w) })),
      });
    },
  };
}
