/**
 * Recovery sweep (SPEC §6), run before the server listens. Idempotent: a crash
 * during the sweep is repaired by the next one.
 *
 *   delete temp files (partial archives, half-written journals)
 *   for each journal:
 *     capture  → resume its containers, delete its archive unless catalogued
 *     restore  → before the commit point: roll every volume back, start containers
 *                at/after it: start containers, finish the pre-restore snapshot
 *   mark operations left running as interrupted
 *   reconcile catalog rows and archive files
 * A workload whose recovery fails is blocked (mutations refused) with the reason.
 */
import { basename, join, relative } from "node:path";
import { AppError, errMessage } from "../core/errors.ts";
import { exists, isTempName } from "../fs/durable.ts";
import { ANY_WORKLOAD, type EngineContext } from "../engine/context.ts";
import type { CaptureJournal, RestoreJournal } from "./journal.ts";
import { ensureDataDirs } from "../engine/paths.ts";
import { preserveOldDirs } from "../engine/preserve.ts";
import { resume } from "../engine/quiesce.ts";
import { frameStoreAt } from "../frames/store.ts";
import { removeArchiveFile } from "../retention/prune.ts";
import { rollbackVolumes } from "../engine/swap.ts";
import { describeUser, runningUsersOf } from "../guards/users.ts";

export interface RecoveryReport {
  tempFilesRemoved: number;
  journalsReplayed: number;
  failed: { workload?: string; file: string; error: string }[];
  interruptedOperations: number;
  rowsWithoutFile: number;
  filesWithoutRow: number;
}

function emptyReport(): RecoveryReport {
  return {
    tempFilesRemoved: 0,
    journalsReplayed: 0,
    failed: [],
    interruptedOperations: 0,
    rowsWithoutFile: 0,
    filesWithoutRow: 0,
  };
}

export async function runRecoverySweep(ctx: EngineContext): Promise<RecoveryReport> {
  const report = emptyReport();
  await ensureDataDirs(ctx.paths);
  report.tempFilesRemoved += await removeTempFiles(ctx.paths.archives);
  report.tempFilesRemoved += await removeTempFiles(ctx.paths.journal);
  // Frame store leftovers: partial packs and packs a crash left without an index.
  report.tempFilesRemoved += await (await frameStoreAt(ctx.paths.root)).sweep();

  await replayJournals(ctx, report);

  const interrupted = await ctx.catalog.markRunningInterrupted(ctx.clock.now().toISOString());
  report.interruptedOperations = interrupted.length;
  for (const op of interrupted) {
    await ctx.event(
      "operation_interrupted",
      `${op.kind} ${op.id} was interrupted`,
      op.workload ?? undefined,
    );
  }
  await reconcile(ctx, report);
  ctx.log.info("recovery sweep done", { ...report });
  return report;
}

/**
 * Replays journals. `only` restricts it to some workloads: the background
 * retry replays just the blocked ones, never the journal of an operation
 * that is running right now.
 */
async function replayJournals(ctx: EngineContext, report: RecoveryReport, only?: Set<string>) {
  const failed = new Set<string>();
  const replayed = new Set<string>();
  for (const entry of await ctx.journals.list()) {
    const j = entry.journal;
    if (j && only && !only.has(j.workload)) continue;
    if (!j) {
      if (only) continue;
      // Never ignored: it may be the only record of stopped containers or a
      // half-done swap. Block its workload (all of them when even that is
      // unreadable) until an operator repairs or removes the file.
      const raw = await Deno.readTextFile(entry.file).catch(() => "");
      const wid = /"workload"\s*:\s*"([A-Za-z0-9][A-Za-z0-9_.-]{0,127})"/.exec(raw)?.[1];
      const reason = `unreadable journal ${entry.file} (${entry.error}); repair or remove it`;
      report.failed.push({
        workload: wid,
        file: entry.file,
        error: `unreadable journal: ${entry.error}`,
      });
      failed.add(wid ?? ANY_WORKLOAD);
      await ctx.catalog.setBlock(wid ?? ANY_WORKLOAD, reason, ctx.clock.now().toISOString());
      await ctx.event("recovery_failed", reason, wid);
      continue;
    }
    try {
      if (j.kind === "capture") await recoverCapture(ctx, j);
      else await recoverRestore(ctx, j);
      report.journalsReplayed++;
      replayed.add(j.workload);
    } catch (err) {
      const error = errMessage(err);
      failed.add(j.workload);
      report.failed.push({ workload: j.workload, file: entry.file, error });
      await ctx.catalog.setBlock(
        j.workload,
        `${j.kind} ${j.opId}: ${error}`,
        ctx.clock.now().toISOString(),
      );
      await ctx.event(
        "recovery_failed",
        `recovery of ${j.kind} ${j.opId} failed: ${error}`,
        j.workload,
      );
    }
  }
  for (const w of replayed) if (!failed.has(w)) await ctx.catalog.clearBlock(w);
  if (only) return;
  // A full sweep recomputes every block of this host: one whose journal is
  // gone (repaired or removed by an operator) is lifted.
  const named = new Set(
    (await ctx.journals.list()).flatMap((e) => e.journal ? [e.journal.workload] : []),
  );
  for (const b of await ctx.catalog.listBlocks()) {
    if (!failed.has(b.workload) && !named.has(b.workload)) await ctx.catalog.clearBlock(b.workload);
  }
}

/**
 * The journal's containers that still exist. One removed since (e.g. recreated
 * by compose) is no longer ours to start, and retrying it would block the
 * workload forever. Any other inspect error keeps it, so resume() reports it.
 */
async function stillPresent(ctx: EngineContext, j: CaptureJournal | RestoreJournal) {
  const out = [];
  for (const c of j.containers) {
    try {
      const d = await ctx.docker.inspectContainer(c.id);
      if (c.since && d.startedAt && Date.parse(d.startedAt) > Date.parse(c.since)) {
        // Started again after we recorded it: someone else is in charge now.
        await ctx.event(
          "container_changed",
          `${j.kind} ${j.opId}: container ${c.name} was started by someone else meanwhile; left as it is`,
          j.workload,
        );
        continue;
      }
      out.push(c);
    } catch (err) {
      if (!(err instanceof AppError && err.code === "not_found")) {
        out.push(c);
        continue;
      }
      await ctx.event(
        "container_gone",
        `${j.kind} ${j.opId}: container ${c.name} was removed meanwhile; not restarted`,
        j.workload,
      );
    }
  }
  return out;
}

async function recoverCapture(ctx: EngineContext, j: CaptureJournal) {
  const failures = await resume(ctx.docker, await stillPresent(ctx, j), ctx.log, j.services);
  if (failures.length) {
    throw new Error(`cannot resume ${failures.map((f) => `${f.name} (${f.error})`).join(", ")}`);
  }
  if (!(await ctx.catalog.getSnapshot(j.snapshotId))) await removeArchiveFile(j.finalPath);
  await runOwedPostHooks(ctx, j);
  await ctx.journals.remove(j.opId);
  await ctx.event(
    "capture_recovered",
    `interrupted capture ${j.opId} of ${j.workload}: resumed ${
      [
        ...j.containers.map((c) => c.name),
        ...(j.services ?? []).map((s) => `service ${s.name} (${s.replicas} replicas)`),
      ].join(", ") || "no containers"
    }, partial archive removed`,
    j.workload,
  );
}

/** Post hooks undo pre hooks (e.g. a database's backup mode): run them, best effort. */
async function runOwedPostHooks(ctx: EngineContext, j: CaptureJournal) {
  for (const h of j.postHooks ?? []) {
    try {
      const d = await ctx.docker.inspectContainer(h.id);
      if (d.state !== "running") continue;
      const r = await ctx.docker.exec(h.id, h.command, 60_000);
      if (r.exitCode !== 0) throw new Error(`exited ${r.exitCode}: ${r.output.slice(-300)}`);
      await ctx.event(
        "post_hook_recovered",
        `post hook of ${h.name} run after an interrupted capture`,
        j.workload,
      );
    } catch (err) {
      await ctx.event(
        "post_hook_failed",
        `post hook of ${h.name} after an interrupted capture: ${errMessage(err)}`,
        j.workload,
      );
    }
  }
}

async function recoverRestore(ctx: EngineContext, j: RestoreJournal) {
  if (j.phase === "staging" || j.phase === "quiescing" || j.phase === "swapping") {
    // Before the commit point: the old state wins. But never rename a dir
    // away under a running container (one started from outside after the
    // crash): block with the reason, the retry tries again.
    await refuseIfInUse(ctx, j);
    await rollbackVolumes(j.volumes);
    const failures = await resume(ctx.docker, await stillPresent(ctx, j), ctx.log, j.services);
    // Keep the journal until every container is back: it is the only record of what we stopped.
    if (failures.length) {
      throw new Error(`rolled back, but cannot start ${failures.map((f) => f.name).join(", ")}`);
    }
    await ctx.journals.remove(j.opId);
    await ctx.event(
      "restore_recovered",
      `interrupted restore ${j.opId} of ${j.workload} (phase ${j.phase}) rolled back; live data is the pre-restore state`,
      j.workload,
    );
    return;
  }
  // Committed: the restore wins; finish it.
  for (const v of j.volumes) {
    if (!(await exists(v.live))) throw new Error(`restored dir ${v.live} is missing after commit`);
  }
  const failures = await resume(ctx.docker, await stillPresent(ctx, j), ctx.log, j.services);
  const preserved = await preserveOldDirs(ctx, j);
  if (preserved.error) throw new Error(preserved.error);
  if (failures.length) {
    throw new Error(`restored, but cannot start ${failures.map((f) => f.name).join(", ")}`);
  }
  await ctx.journals.remove(j.opId);
  await ctx.event(
    "restore_recovered",
    `interrupted restore ${j.opId} of ${j.workload} completed after a crash (phase ${j.phase})`,
    j.workload,
  );
}

/**
 * Throws when a rollback would rename a dir (some `old` dir exists) while a
 * container that uses a volume of `j` runs, whoever's it is.
 */
async function refuseIfInUse(ctx: EngineContext, j: RestoreJournal) {
  const moving = [];
  for (const v of j.volumes) if (await exists(v.old)) moving.push(v);
  if (moving.length === 0) return;
  const users = await runningUsersOf(
    ctx.docker,
    moving.map((v) => ({ key: v.key, hostPath: v.live, aliases: [v.old, v.staged], type: v.type })),
  );
  if (users.length) {
    throw new Error(
      `cannot roll back while ${users.map(describeUser).join("; ")}; stop it and volsnap retries`,
    );
  }
}

async function removeTempFiles(dir: string): Promise<number> {
  let n = 0;
  for await (const e of walkFiles(dir)) {
    // The file name only: a workload dir may legally contain the marker.
    if (isTempName(basename(e))) {
      await Deno.remove(e).catch(() => {});
      n++;
    }
  }
  return n;
}

async function* walkFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walkFiles(p);
    else yield p;
  }
}

/** Rows whose file is gone are dropped; files without a row are moved to orphans/. */
async function reconcile(ctx: EngineContext, report: RecoveryReport) {
  // Rows with file "" live only off-host (SPEC §13): nothing local to reconcile.
  const rows = (await ctx.catalog.listAllSnapshots()).filter((r) => r.file);
  const known = new Set(rows.map((r) => r.file));
  const missing = [];
  for (const r of rows) {
    if (!(await exists(join(ctx.paths.archives, r.file)))) missing.push(r);
  }
  if (missing.length > 0 && missing.length === rows.length) {
    // Every archive gone at once looks like an unmounted or wrong data dir,
    // not like lost files: keep the rows so nothing is forgotten.
    ctx.log.error("no catalogued archive is present; catalog rows kept", {
      archives: ctx.paths.archives,
      rows: rows.length,
    });
    await ctx.event(
      "archives_missing",
      `none of the ${rows.length} catalogued archives is in ${ctx.paths.archives}; rows kept (is the data dir mounted?)`,
    );
  } else {
    for (const r of missing) {
      if (await ctx.remote?.hasCopy(r.id)) {
        // The local file is gone but the off-host copy holds it: keep the snapshot.
        await ctx.catalog.setSnapshotFile(r.id, "");
        await ctx.event(
          "local_copy_missing",
          `snapshot ${r.id}: local file missing, kept off-host`,
          r.workload,
        );
        continue;
      }
      await ctx.catalog.deleteSnapshot(r.id);
      report.rowsWithoutFile++;
      await ctx.event(
        "catalog_row_removed",
        `snapshot ${r.id}: archive file missing, row removed`,
        r.workload,
      );
    }
  }
  for await (const path of walkFiles(ctx.paths.archives)) {
    const rel = relative(ctx.paths.archives, path);
    if (known.has(rel)) continue;
    // Never delete what may be the only copy of something: quarantine it.
    let dest = join(ctx.paths.orphans, rel.replaceAll("/", "__"));
    for (let n = 1; await exists(dest); n++) {
      dest = join(ctx.paths.orphans, `${rel.replaceAll("/", "__")}.${n}`);
    }
    await Deno.rename(path, dest);
    report.filesWithoutRow++;
    await ctx.event("orphan_file", `archive ${rel} has no catalog row; moved to ${dest}`);
  }
}

/**
 * While the server runs, journals left behind by a finished operation (a
 * container it could not bring back) or by a failed recovery (a blocked
 * workload, e.g. Docker was down) are replayed again, per workload with
 * exponential backoff from `baseMs` to `maxMs`, until they succeed or an
 * operator acts (SPEC §6). A journal whose workload lock is held belongs to
 * a running operation and is never touched; the retry takes the lock itself
 * while it replays.
 */
export function retryBlockedRecoveries(
  ctx: EngineContext,
  opts: { baseMs?: number; maxMs?: number } = {},
): () => void {
  const baseMs = opts.baseMs ?? 5_000;
  const maxMs = opts.maxMs ?? 300_000;
  const next = new Map<string, { at: number; delay: number }>();
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = ctx.clock.monotonicMs();
      const due = new Set<string>();
      const pending = new Set<string>();
      for (const e of await ctx.journals.list()) {
        const w = e.journal?.workload;
        if (!w || ctx.locks.isHeld(w)) continue;
        pending.add(w);
        const n = next.get(w);
        if (!n) next.set(w, { at: now + baseMs, delay: baseMs }); // first seen: give it a moment
        else if (n.at <= now) due.add(w);
      }
      for (const w of next.keys()) if (!pending.has(w)) next.delete(w);
      if (due.size === 0) return;
      const releases = [];
      for (const w of due) {
        try {
          releases.push(ctx.locks.acquire(w, "the recovery retry"));
        } catch {
          due.delete(w);
        }
      }
      try {
        const report = emptyReport();
        await replayJournals(ctx, report, due);
        if (report.journalsReplayed || report.failed.length) {
          ctx.log.info("recovery retried", { ...report });
        }
        for (const f of report.failed) {
          const n = f.workload && next.get(f.workload);
          if (n) {
            n.delay = Math.min(n.delay * 2, maxMs);
            n.at = ctx.clock.monotonicMs() + n.delay;
          }
        }
      } finally {
        for (const r of releases) r();
      }
    } catch (err) {
      ctx.log.error("recovery retry failed", { error: errMessage(err) });
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(tick, Math.max(250, Math.min(baseMs, 1_000)));
  return () => clearInterval(timer);
}
