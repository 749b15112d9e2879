/**
 * Turns the old dirs set aside by a restore into a durable `pre-restore`
 * snapshot, then deletes them. Idempotent, so the recovery sweep can call it
 * again after a crash at any point: the snapshot id is journaled first, an
 * archive without its catalog row is rebuilt, and dirs are deleted only once
 * the row exists. On failure the old dirs stay and the journal says why.
 *
 * An old dir is deleted only when the snapshot holds all of it (SPEC §5
 * Guards): a warning of its capture (a name it could not archive, an
 * unreadable symlink or dir) or a skipped entry other than a socket keeps the
 * dir, recorded as a leftover (GET /api/v1/leftovers) until an operator
 * deletes it. The verdict is read from the catalog row, so a replay after a
 * crash reaches the same one.
 */
import { errMessage } from "../core/errors.ts";
import { join } from "node:path";
import { exists } from "../fs/durable.ts";
import type { EngineContext } from "./context.ts";
import type { RestoreJournal } from "../journal/journal.ts";
import { newId, OLD_MARK } from "./paths.ts";
import { applyRetention, removeArchiveFile } from "../retention/prune.ts";
import { snapshotRow } from "./snapshot_file.ts";
import { archiveJob, reclaimFrames } from "./archive_job.ts";
import { removeOwnTree } from "./swap.ts";
import type { SnapshotRow } from "../../db/catalog.ts";
import { archiveDigests } from "../drill/digest.ts";
import { isFramedFile } from "../frames/snapshot_frames.ts";
import { openSnapshotStream } from "../frames/snapshot_stream.ts";

export interface PreserveOutcome {
  snapshotId?: string;
  error?: string;
  /** Old dirs kept because the snapshot does not hold all of them. */
  leftovers?: { id: string; path: string; reason: string }[];
}

export async function preserveOldDirs(
  ctx: EngineContext,
  journal: RestoreJournal,
): Promise<PreserveOutcome> {
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
      // Kept as frames like a capture, and incremental against the workload's
      // newest snapshot: the old dirs are the data that was live, mostly
      // unchanged since it, so most of it is referenced, not read again.
      const job = await archiveJob(ctx, wid, id, compression, { incremental: true });
      await removeArchiveFile(job.finalPath); // a file without its row, from a crash
      const createdAt = ctx.clock.now().toISOString();
      const warnings: string[] = [];
      let manifest, finished;
      try {
        manifest = await job.write({
          createdAt,
          quiesce: "stop",
          label: "pre-restore",
          volumes: present.map((v) => ({ ...v, hostPath: v.old })),
          onWarning: (w) => warnings.push(w),
        });
        finished = await job.finish();
      } catch (err) {
        await job.abort().catch(() => {});
        throw err;
      }
      await ctx.catalog.insertSnapshot(snapshotRow(ctx, {
        id,
        workload: wid,
        createdAt,
        origin: "pre-restore",
        label: "pre-restore",
        compression,
        file: job.file,
        stats: finished.stats,
        manifest,
        quiesce: "stop",
        downtimeMs: null,
        consistent: true,
        warnings,
        contentDigest: finished.contentDigest,
        frames: finished.frames,
        parentId: finished.parentId,
      }));
      await ctx.event("snapshot_created", `pre-restore snapshot ${id} of ${wid} created`, wid, {
        snapshotId: id,
        restoreOp: journal.opId,
      });
    }
    await ctx.fault("restore.preserved");
    const row = await ctx.catalog.getSnapshot(id);
    const missing = row
      ? (await notHeld(row, present.map((v) => v.old))) ?? (await notReadBack(ctx, row))
      : "its catalog row is gone";
    if (missing) {
      const leftovers = await keepAsLeftovers(ctx, journal, present, id, missing);
      await retain(ctx, wid);
      return { snapshotId: id, leftovers };
    }
    for (const v of present) await removeOwnTree(v.old, OLD_MARK);
    await retain(ctx, wid);
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

/** Retention after the new snapshot; frames nothing references any more are reclaimed. */
async function retain(ctx: EngineContext, wid: string) {
  if ((await applyRetention(ctx, wid)).length) await reclaimFrames(ctx);
}

/**
 * Why a framed snapshot does not read back as what was captured, or
 * undefined when it does. Its frames may be the store's copies from earlier
 * captures (unchanged files referenced, equal chunks deduplicated), which
 * nothing has read since: before the old dirs, the only other copy, are
 * deleted, the whole stream is decoded (each frame's checksum) and its
 * content digest compared with the one recorded from the old dirs.
 */
async function notReadBack(ctx: EngineContext, row: SnapshotRow): Promise<string | undefined> {
  // Written whole from the old dirs' bytes: a single file, or frames all stored by this capture.
  if (!isFramedFile(row.file) || row.sharedBytes === 0) return undefined;
  const recorded = row.contentDigest;
  if (!recorded) return "its pre-restore snapshot has no content digest to check it against";
  let got: Record<string, string>;
  try {
    got = await archiveDigests((await openSnapshotStream(ctx, row)).stream, ctx.limits);
  } catch (err) {
    return `its pre-restore snapshot does not read back (${
      errMessage(err)
    }); verify the snapshots it shares frames with`;
  }
  const differs = Object.keys({ ...recorded, ...got }).filter((k) => recorded[k] !== got[k]);
  return differs.length
    ? `its pre-restore snapshot does not read back as the replaced data (volume ${
      differs.join(", ")
    } differs); verify the snapshots it shares frames with`
    : undefined;
}

/** Why the snapshot does not hold all of `dirs`, or undefined when it does. */
async function notHeld(
  row: { warnings: string[]; skippedSpecial: number },
  dirs: string[],
): Promise<string | undefined> {
  if (row.warnings.length > 0) {
    const shown = row.warnings.slice(0, 3).join("; ");
    return `its pre-restore snapshot skipped or could not read part of it (${row.warnings.length} warning${
      row.warnings.length > 1 ? "s" : ""
    }: ${shown})`;
  }
  if (row.skippedSpecial > 0) {
    // Sockets are recreated by their owner; anything else skipped is data.
    let sockets = 0;
    for (const d of dirs) sockets += await countSockets(d);
    if (row.skippedSpecial > sockets) {
      return `its pre-restore snapshot skipped ${
        row.skippedSpecial - sockets
      } special file(s) (device nodes or fifos) that are not sockets`;
    }
  }
  return undefined;
}

async function countSockets(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    const st = await Deno.lstat(p).catch(() => undefined);
    if (!st) continue;
    if (st.isSocket) n++;
    else if (st.isDirectory) n += await countSockets(p);
  }
  return n;
}

/** Records each kept old dir once (idempotent on replay) and reports it. */
async function keepAsLeftovers(
  ctx: EngineContext,
  journal: RestoreJournal,
  present: RestoreJournal["volumes"],
  snapshotId: string,
  reason: string,
): Promise<{ id: string; path: string; reason: string }[]> {
  const known = await ctx.catalog.listLeftovers(journal.workload);
  const out = [];
  for (const v of present) {
    const had = known.find((l) => l.path === v.old);
    if (had) {
      out.push({ id: had.id, path: had.path, reason: had.reason });
      continue;
    }
    const id = newId("lo_", ctx.clock.now());
    await ctx.catalog.insertLeftover({
      id,
      workload: journal.workload,
      path: v.old,
      volumeKey: v.key,
      reason,
      snapshotId,
      restoreOp: journal.opId,
      createdAt: ctx.clock.now().toISOString(),
    });
    await ctx.event(
      "leftover_kept",
      `old data of ${v.key} kept at ${v.old}: ${reason}; delete it with DELETE /api/v1/leftovers/${id}`,
      journal.workload,
      { leftoverId: id, path: v.old, snapshotId },
    );
    out.push({ id, path: v.old, reason });
  }
  return out;
}
