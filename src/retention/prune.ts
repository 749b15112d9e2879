/**
 * Applies the retention plan of a workload: file first, then its row (a crash
 * in between leaves a row without file, which the sweep removes).
 * The policy is the config's, overridden per workload by container labels
 * `volsnap.keep-last`, `volsnap.keep-daily`, `volsnap.keep-weekly`,
 * `volsnap.keep-monthly`. When the labels cannot be read for sure (Docker
 * unreachable, a label that does not parse) nothing is pruned: the reason is
 * recorded as an event and shown on the workload (`retentionError`).
 */
import { join } from "node:path";
import { errMessage } from "../core/errors.ts";
import type { ContainerInfo } from "../core/model.ts";
import { findWorkload } from "../workloads/discover.ts";
import type { EngineContext } from "../engine/context.ts";
import { parseRetentionPolicy, planPrune, type PolicyResult } from "./policy.ts";

/** The workload's policy from its containers' labels, or why it cannot be used. */
export function retentionPolicy(
  defaults: { keepLast: number; preRestoreKeepLast: number },
  containers: Pick<ContainerInfo, "labels">[],
): PolicyResult {
  return parseRetentionPolicy(defaults, containers.map((c) => c.labels));
}

/**
 * Prunes `workload`'s snapshots. Without `containers` it asks Docker for
 * them; when Docker cannot answer, it prunes nothing. Returns the pruned ids.
 */
export async function applyRetention(
  ctx: EngineContext,
  workload: string,
  containers?: ContainerInfo[],
): Promise<string[]> {
  if (!containers) {
    try {
      containers = (await findWorkload(ctx.docker, workload, ctx.discovery)).containers;
    } catch (err) {
      await skipped(ctx, workload, `cannot read the retention labels: ${errMessage(err)}`);
      return [];
    }
  }
  const { policy, error } = retentionPolicy(ctx.config, containers);
  if (!policy) {
    await skipped(ctx, workload, error);
    return [];
  }
  const rows = await ctx.catalog.listSnapshots(workload);
  const doomed = planPrune(rows, policy);
  for (const id of doomed) {
    const row = rows.find((r) => r.id === id)!;
    try {
      if (row.file) await removeArchiveFile(join(ctx.paths.archives, row.file));
      // Each location is pruned: this host's off-host copy goes with the snapshot.
      await ctx.remote?.forget(row);
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
  // VOLSNAP_LOCAL_KEEP_LAST: fewer local files than off-host copies.
  await ctx.remote?.trimLocal(workload).catch((err) =>
    ctx.log.error("cannot prune local copies", { workload, error: errMessage(err) })
  );
  return doomed;
}

async function skipped(ctx: EngineContext, workload: string, reason: string) {
  await ctx.event("retention_skipped", `retention of ${workload} skipped: ${reason}`, workload, {
    reason,
  });
}

export async function removeArchiveFile(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
