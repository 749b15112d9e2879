/** Applies the retention plan of a workload: file first, then its row. */
import { join } from "node:path";
import { errMessage } from "../errors.ts";
import type { EngineContext } from "./context.ts";
import { planPrune } from "./retention.ts";

export async function applyRetention(ctx: EngineContext, workload: string): Promise<string[]> {
  const rows = await ctx.catalog.listSnapshots(workload);
  const doomed = planPrune(rows, {
    keepLast: ctx.config.keepLast,
    preRestoreKeepLast: ctx.config.preRestoreKeepLast,
  });
  for (const id of doomed) {
    const row = rows.find((r) => r.id === id)!;
    try {
      await removeArchiveFile(join(ctx.paths.archives, row.file));
      await ctx.catalog.deleteSnapshot(id);
      await ctx.event("snapshot_pruned", `snapshot ${id} pruned by retention`, workload, { snapshotId: id });
    } catch (err) {
      ctx.log.error("retention could not delete snapshot", { snapshotId: id, error: errMessage(err) });
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
