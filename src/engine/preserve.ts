/**
 * Turns the old dirs set aside by a restore into a durable `pre-restore`
 * snapshot, then deletes them. Idempotent, so the recovery sweep can call it
 * again after a crash at any point: the snapshot id is journaled first, an
 * archive without its catalog row is rebuilt, and dirs are deleted only once
 * the row exists. On failure the old dirs stay and the journal says why.
 */
import { join } from "node:path";
import { archiveExtension, writeSnapshotArchive } from "../archive/writer.ts";
import { errMessage } from "../errors.ts";
import { exists } from "../fs/durable.ts";
import { TOOL_NAME, VERSION } from "../version.ts";
import type { EngineContext } from "./context.ts";
import type { RestoreJournal } from "./journal.ts";
import { newId, OLD_MARK } from "./paths.ts";
import { applyRetention, removeArchiveFile } from "./retention_apply.ts";
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
      const file = `${wid}/${id}${archiveExtension(compression)}`;
      const finalPath = join(ctx.paths.archives, file);
      await Deno.mkdir(join(ctx.paths.archives, wid), { recursive: true, mode: 0o700 });
      await removeArchiveFile(finalPath); // a file without its row, from a crash
      const createdAt = ctx.clock.now().toISOString();
      const warnings: string[] = [];
      const { stats, manifest } = await writeSnapshotArchive({
        finalPath,
        compression,
        manifest: {
          format: "volsnap/1",
          snapshotId: id,
          workload: wid,
          createdAt,
          tool: { name: TOOL_NAME, version: VERSION },
          quiesce: "stop",
          label: "pre-restore",
          volumes: present.map((v, index) => ({
            index,
            key: v.key,
            type: v.type,
            name: v.name,
            source: v.source,
            destinations: v.destinations,
          })),
        },
        sources: present.map((v, index) => ({ index, hostPath: v.old })),
        onWarning: (w) => warnings.push(w),
      });
      await ctx.catalog.insertSnapshot({
        id,
        workload: wid,
        createdAt,
        origin: "pre-restore",
        label: "pre-restore",
        status: "complete",
        compression,
        file,
        sizeBytes: stats.sizeBytes,
        uncompressedBytes: stats.uncompressedBytes,
        fileCount: stats.fileCount,
        skippedSpecial: stats.skippedSpecial,
        sha256: stats.sha256,
        quiesce: "stop",
        downtimeMs: null,
        consistent: true,
        warnings,
        manifest,
      });
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
    const error = `pre-restore snapshot failed, old data kept at ${present.map((v) => v.old).join(", ")}: ${errMessage(err)}`;
    journal.preserveError = error;
    await ctx.journals.write(journal).catch(() => {});
    await ctx.event("pre_restore_failed", error, wid);
    return { error };
  }
}
