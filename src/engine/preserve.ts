/**
 * Turns the old dirs set aside by a restore into a durable `pre-restore`
 * snapshot, then deletes them. Idempotent, so the recovery sweep can call it
 * again after a crash at any point: the snapshot id is journaled first, an
 * archive without its catalog row is rebuilt, and dirs are deleted only once
 * the row exists. On failure the old dirs stay and the journal says why.
 */
import { errMessage } from "../core/errors.ts";
import { exists } from "../fs/durable.ts";
import type { EngineContext } from "./context.ts";
import type { RestoreJournal } from "../journal/journal.ts";
import { newId, OLD_MARK } from "./paths.ts";
import { applyRetention, removeArchiveFile } from "../retention/prune.ts";
import { archiveLocation, snapshotRow, writeVolumesArchive } from "./snapshot_file.ts";
import { removeOwnTree } from "./swap.ts";

export async function preserveOldDirs(
  ctx: EngineContext,
  journal: RestoreJournal,
): Promise<{ snapshotId?: string; error?: string }> {
  const present = [];
  for (const v of journal.volumes) if (await exists(v.old)) present.push(v);
  if (present.length === 0) return { snapshotId: journal.preRestoreSnapshotId };
  const wid = journal.workload;
  try {
    if (!journal.preRestoreSnapshotId) {
      journal.preRestoreSnapshotId = newId("", ctx.clock.now());
    }
    journal.phase = "preserving";
    journal.preserveError = undefined;
    await ctx.journals.write(journal);
    await ctx.fault("restore.preserving");
    const id = journal.preRestoreSnapshotId;
    if (!(await ctx.catalog.getSnapshot(id))) {
      const compression = ctx.config.compression;
      const { file, finalPath } = await archiveLocation(ctx, wid, id, compression);
      await removeArchiveFile(finalPath); // a file without its row, from a crash
      const createdAt = ctx.clock.now().toISOString();
      const warnings: string[] = [];
      const { stats, manifest } = await writeVolumesArchive({
        finalPath,
        id,
        workload: wid,
        createdAt,
        quiesce: "stop",
        label: "pre-restore",
        compression,
        volumes: present.map((v) => ({ ...v, hostPath: v.old })),
        onWarning: (w) => warnings.push(w),
        limits: ctx.limits,
      });
      await ctx.catalog.insertSnapshot(snapshotRow(ctx, {
        id,
        workload: wid,
        createdAt,
        origin: "pre-restore",
        label: "pre-restore",
        compression,
        file,
        stats,
        manifest,
        quiesce: "stop",
        downtimeMs: null,
        consistent: true,
        warnings,
      }));
      await ctx.event("snapshot_created", `pre-restore snapshot ${id} of ${wid} created`, wid, {
        snapshotId: id,
        restoreOp: journal.opId,
      });
    }
    await ctx.fault("restore.preserved");
    for (const v of present) await removeOwnTree(v.old, OLD_MARK);
    await applyRetention(ctx, wid);
    return { snapshotId: id };
  } catch (err) {
    const error = `pre-restore snapshot failed, old data kept at ${
      present.map((v) => v.old).join(", ")
    }: ${errMessage(err)}`;
    journal.preserveError = error;
    await ctx.journals.write(journal).catch(() => {});
    await ctx.event("pre_restore_failed", error, wid);
    return { error };
  }
}
