/**
 * Applies the retention plan of a workload: file first, then its row (a crash
 * in between leaves a row without file, which the sweep removes).
 * The policy is the config's, overridden per workload by container labels
 * `volsnap.keep-last`, `volsnap.keep-daily`, `volsnap.keep-weekly`,
 * `volsnap.keep-monthly`.
 */
import { join } from "node:path";
import { errMessage } from "../core/errors.ts";
import type { ContainerInfo } from "../core/model.ts";
import { findWorkload } from "../workloads/discover.ts";
import type { EngineContext } from "../engine/context.ts";
import { planPrune, type RetentionPolicy } from "./policy.ts";

const LABELS = {
  keepLast: "volsnap.keep-last",
  keepDaily: "volsnap.keep-daily",
  keepWeekly: "volsnap.keep-weekly",
  keepMonthly: "volsnap.keep-monthly",
} as const;

export function retentionPolicy(
  defaults: { keepLast: number; preRestoreKeepLast: number },
  containers: Pick<ContainerInfo, "labels">[],
): RetentionPolicy {
  const policy: RetentionPolicy = { ...defaults };
  for (const [key, label] of Object.entries(LABELS) as [keyof typeof LABELS, string][]) {
    const raw = containers.map((c) => c.labels[label]).find((v) => v !== undefined);
    const n = raw === undefined ? NaN : Number(raw);
    if (Number.isInteger(n) && n >= 0 && n <= 100_000) {
      policy[key] = key === "keepLast" ? Math.max(n, 1) : n;
    }
  }
  return policy;
}

export async function applyRetention(
  ctx: EngineContext,
  workload: string,
  containers?: ContainerInfo[],
): Promise<string[]> {
  if (!containers) {
    containers = await findWorkload(ctx.docker, workload, ctx.discovery).then((w) => w.containers)
      .catch(() => []);
  }
  const rows = await ctx.catalog.listSnapshots(workload);
  const doomed = planPrune(rows, retentionPolicy(ctx.config, containers));
  for (const id of doomed) {
    const row = rows.find((r) => r.id === id)!;
    try {
      await removeArchiveFile(join(ctx.paths.archives, row.file));
      await ctx.catalog.deleteSnapshot(id);
      await ctx.event("snapshot_pruned", `snapshot ${id} pruned by retention`, workload, {
        snapshotId: id,
      });
    } catch (err) {
      ctx.log.error("retention could not delete snapshot", {
        snapshotId: id,
        error: errMessage(err),
      });
    }
  }
  return doomed;
}

export async function removeArchiveFile(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
