/**
 * Restore (SPEC §5). The live data is at every instant wholly old or wholly
 * restored, and downtime does not grow with data size:
 *
 *   pre-flight (no side effects)
 *   journal{staging}    → extract into staged dirs beside each live dir (app still runs)
 *   journal{quiescing}  → stop the running containers (recorded first)
 *   journal{swapping}   → per volume: live→old, staged→live, checkpoint
 *   journal{committed}  ← the commit point: before it recovery rolls back, after it forward
 *   start containers    → the app runs the restored data
 *   journal{preserving} → old dirs become a durable pre-restore snapshot, then are deleted
 *   drop journal
 */
import { extractArchive } from "../unpack/extract.ts";
import { AppError, errMessage, toAppError } from "../core/errors.ts";
import { startOrder } from "../workloads/discover.ts";
import { findWorkload } from "../workloads/discover.ts";
import type { EngineContext } from "./context.ts";
import { lockWorkload } from "./context.ts";
import type { RestoreJournal } from "../journal/journal.ts";
import { oldDirFor, STAGING_MARK, stagingDirFor } from "./paths.ts";
import { preserveOldDirs } from "./preserve.ts";
import { leftContainersDown, quiesce, quiesceTargets, resume, serviceTargets } from "./quiesce.ts";
import { preflightRestore, type RestorePreflight } from "./restore_plan.ts";
import { checkNoOutsideUsers } from "../guards/users.ts";
import { removeOwnTree, rollbackVolumes, swapVolume } from "./swap.ts";
import type {
  OpContext,
  PreparedOperation,
  RestorePlan,
  RestoreRequest,
  RestoreResult,
} from "./types.ts";

export async function planRestore(
  ctx: EngineContext,
  wid: string,
  req: RestoreRequest,
): Promise<RestorePlan> {
  const workload = await findWorkload(ctx.docker, wid, ctx.discovery);
  serviceTargets(workload, "stop"); // a global Swarm service refuses the stop
  return (await preflightRestore(ctx, workload, req)).plan;
}

export async function prepareRestore(
  ctx: EngineContext,
  wid: string,
  req: RestoreRequest,
): Promise<PreparedOperation<RestoreResult>> {
  const { workload, release } = await lockWorkload(ctx, wid, "a restore");
  let pre: RestorePreflight;
  try {
    serviceTargets(workload, "stop"); // a global Swarm service refuses the stop
    pre = await preflightRestore(ctx, workload, req);
  } catch (err) {
    release();
    throw err;
  }
  return {
    kind: "restore",
    workload: wid,
    snapshotId: req.snapshotId,
    cancel: release,
    run: async (op) => {
      try {
        return await runRestore(ctx, pre, op);
      } catch (err) {
        throw toAppError(err); // e.g. ENOSPC → insufficient_space (507)
      } finally {
        release();
      }
    },
  };
}

async function runRestore(
  ctx: EngineContext,
  pre: RestorePreflight,
  op: OpContext,
): Promise<RestoreResult> {
  const wid = pre.plan.workload;
  const log = ctx.log.child({ op: op.id, workload: wid });
  const journal: RestoreJournal = {
    kind: "restore",
    opId: op.id,
    workload: wid,
    snapshotId: pre.row.id,
    phase: "staging",
    containers: [],
    volumes: pre.volumes.map((v) => ({
      key: v.target.key,
      live: v.target.hostPath,
      staged: stagingDirFor(v.target.hostPath, op.id),
      old: oldDirFor(v.target.hostPath, op.id),
      type: v.target.type,
      name: v.target.name,
      source: v.target.source,
      destinations: v.target.destinations,
    })),
    swapped: 0,
  };
  await ctx.event("restore_started", `restore of ${pre.row.id} into ${wid} started`, wid, {
    snapshotId: pre.row.id,
    volumes: journal.volumes.map((v) => v.key),
  });

  // 1. Stage while the app still runs.
  await ctx.journals.write(journal);
  const stagedFor = new Map(
    pre.volumes.map((v, i) => [v.manifest.index, journal.volumes[i].staged]),
  );
  try {
    await ctx.fault("restore.staging");
    op.progress({ phase: "staging", bytesDone: 0, bytesTotal: pre.row.uncompressedBytes });
    await extractArchive({
      // The pre-flight verified this file's sha256 moments ago. A zstd frame
      // checksum (every capture writes one) catches damage since then without
      // a second hash, which would cost a core during staging; an archive
      // without one (imported, uncompressed) is hashed again.
      // No local file: streamed from the bucket and hashed on the way (SPEC §13).
      ...(pre.openSource ? { source: await pre.openSource() } : { sourcePath: pre.archivePath }),
      expectedSha256: pre.stagingMustHash ? pre.row.sha256 : undefined,
      expectManifest: pre.manifest,
      targetDirFor: (index) => stagedFor.get(index) ?? null,
      limits: ctx.limits,
      // volsnap's own snapshots keep setuid/setgid and file capabilities; imports do not.
      keepPrivileges: pre.row.origin !== "imported",
      onProgress: (n) => op.progress({ bytesDone: n }),
      signal: op.signal,
    });
    await ctx.fault("restore.staged");
    // The app kept running while we staged: make sure its mounts did not move.
    const now = await findWorkload(ctx.docker, wid, ctx.discovery);
    for (const v of pre.volumes) {
      if (!now.volumes.some((t) => t.key === v.target.key && t.hostPath === v.target.hostPath)) {
        throw new AppError(
          "workload_busy",
          `workload ${wid} changed during staging: ${v.target.key} moved`,
        );
      }
    }
    await checkNoOutsideUsers(ctx.docker, now, pre.volumes.map((v) => v.target));
    journal.containers = quiesceTargets(startOrder(now.containers), "stop", true, ctx.clock.now());
    journal.services = serviceTargets(now, "stop", ctx.clock.now());
    op.signal?.throwIfAborted();
    journal.phase = "quiescing";
    await ctx.journals.write(journal);
  } catch (err) {
    await abandonStaging(ctx, journal);
    throw err;
  }

  // 2. Quiesce. quiesce() restarts what it stopped if one container refuses.
  op.progress({ phase: "quiescing" });
  const downStart = ctx.clock.monotonicMs();
  try {
    // quiesce() itself brings back what it stopped when one container refuses.
    await quiesce(
      ctx.docker,
      journal.containers,
      ctx.config.stopTimeoutSeconds,
      log,
      journal.services,
    );
  } catch (err) {
    await abandonStaging(ctx, journal, leftContainersDown(err));
    throw err;
  }
  try {
    await ctx.fault("restore.quiesced");
    op.signal?.throwIfAborted(); // the last point before the first destructive step
    journal.phase = "swapping";
    await ctx.journals.write(journal);
    await ctx.fault("restore.journaled");
  } catch (err) {
    const failures = await resume(ctx.docker, journal.containers, log, journal.services);
    await abandonStaging(ctx, journal, failures.length > 0);
    throw err;
  }

  // 3. Swap, checkpointing after each volume; any failure rolls all back.
  op.progress({ phase: "swapping" });
  try {
    for (const v of journal.volumes) {
      await swapVolume(v, (n) => ctx.fault(n));
      journal.swapped++;
      await ctx.journals.write(journal);
      await ctx.fault("restore.swapped_one");
    }
    journal.phase = "committed";
    await ctx.journals.write(journal);
  } catch (err) {
    log.error("swap failed; rolling back", { error: errMessage(err) });
    let rollbackError: unknown;
    try {
      await rollbackVolumes(journal.volumes);
    } catch (e) {
      rollbackError = e;
    }
    if (rollbackError) {
      // Leave the journal: the sweep retries the rollback, then starts the containers.
      // Not now: a volume may be missing at its live path (Docker would even
      // create an empty dir there for a bind) and the app would run on it.
      await ctx.catalog.setBlock(
        wid,
        `rollback failed: ${errMessage(rollbackError)}`,
        ctx.clock.now().toISOString(),
      );
      throw new AppError(
        "internal",
        `restore failed (${errMessage(err)}) and rollback failed: ${errMessage(rollbackError)}`,
      );
    }
    const failures = await resume(ctx.docker, journal.containers, log, journal.services);
    if (failures.length) {
      // The data is back, but some container is down: the journal is the only
      // record of what we stopped. Keep it (as "swapping": a replay rolls back,
      // which is a no-op now, then starts them) and block the workload so the
      // background retry starts them.
      const down = failures.map((f) => `${f.name} (${f.error})`).join(", ");
      journal.phase = "swapping";
      await ctx.journals.write(journal).catch((e) =>
        log.error("cannot checkpoint the journal after a rollback", { error: errMessage(e) })
      );
      await ctx.catalog.setBlock(
        wid,
        `restore rolled back, but cannot start ${down}`,
        ctx.clock.now().toISOString(),
      );
      await ctx.event(
        "restore_rolled_back",
        `restore of ${pre.row.id} into ${wid} rolled back (${
          errMessage(err)
        }); cannot start ${down}, retrying`,
        wid,
      );
      throw new AppError(
        "docker_error",
        `restore failed (${
          errMessage(err)
        }) and was rolled back, but containers did not start: ${down}`,
        { hint: "volsnap retries the start; GET /api/v1/events shows the outcome" },
      );
    }
    await ctx.journals.remove(op.id);
    await ctx.event(
      "restore_rolled_back",
      `restore of ${pre.row.id} into ${wid} rolled back: ${errMessage(err)}`,
      wid,
    );
    throw err;
  }
  await ctx.fault("restore.committed");

  // 4. Start what was running. A failure leaves the data restored and is reported.
  op.progress({ phase: "starting" });
  const failures = await resume(ctx.docker, journal.containers, log, journal.services);
  const downtimeMs = Math.round(ctx.clock.monotonicMs() - downStart);
  const startError = failures.length
    ? failures.map((f) => `${f.name}: ${f.error}`).join("; ")
    : undefined;
  await ctx.fault("restore.started");

  // 5. The old dirs become a durable pre-restore snapshot; only then are they deleted.
  op.progress({ phase: "preserving" });
  const preserved = await preserveOldDirs(ctx, journal);
  if (failures.length && !preserved.error) {
    // Keep the journal so the sweep retries the start at the next boot.
    journal.phase = "preserving";
    await ctx.journals.write(journal);
  } else if (!preserved.error) {
    await ctx.journals.remove(op.id);
  }
  const result: RestoreResult = {
    snapshotId: pre.row.id,
    workload: wid,
    volumes: journal.volumes.map((v) => v.key),
    downtimeMs,
    preRestoreSnapshotId: preserved.snapshotId,
    startError,
    preRestoreError: preserved.error,
    ...(preserved.leftovers?.length ? { leftovers: preserved.leftovers } : {}),
  };
  await ctx.event(
    "restore_completed",
    `restore of ${pre.row.id} into ${wid} completed (downtime ${downtimeMs} ms)` +
      (startError ? `; containers failed to start: ${startError}` : ""),
    wid,
    result,
  );
  if (startError) {
    throw new AppError(
      "docker_error",
      `data restored, but containers failed to start: ${startError}`,
    );
  }
  return result;
}

/**
 * Removes staged dirs after a failure before any swap, and the journal unless
 * a container is still down: then the sweep (phase quiescing) brings it back.
 */
async function abandonStaging(ctx: EngineContext, journal: RestoreJournal, keepJournal = false) {
  for (const v of journal.volumes) await removeOwnTree(v.staged, STAGING_MARK);
  if (!keepJournal) await ctx.journals.remove(journal.opId);
}
