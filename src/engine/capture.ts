/**
 * Capture (SPEC §4):
 *   resolve volumes → lock → pre-hooks → journal the containers to quiesce →
 *   quiesce → stream the archive (temp + fsync + rename) → resume (every path) →
 *   post-hooks → catalog row → drop journal → retention.
 * A crash anywhere leaves the journal; the recovery sweep resumes the
 * containers and deletes the partial archive.
 */
import type { SnapshotRow } from "../../db/catalog.ts";
import { AppError, errMessage, toAppError } from "../core/errors.ts";
import type { Compression, ContainerInfo, Manifest, QuiesceMode, Workload } from "../core/model.ts";
import { hookCommand, quiesceModeFromLabels, startOrder } from "../workloads/discover.ts";
import type { CaptureRequest, OpContext, PreparedOperation } from "./types.ts";
import type { EngineContext } from "./context.ts";
import { lockWorkload } from "./context.ts";
import { leftContainersDown, quiesce, quiesceTargets, resume, serviceTargets } from "./quiesce.ts";
import { newId } from "./paths.ts";
import { busyError, describeUser, outsideUsers } from "../guards/users.ts";
import { applyRetention } from "../retention/prune.ts";
import { archiveDigests } from "../drill/digest.ts";
import { snapshotRow } from "./snapshot_file.ts";
import { archiveJob, reclaimFrames } from "./archive_job.ts";

export async function prepareCapture(
  ctx: EngineContext,
  wid: string,
  req: CaptureRequest,
): Promise<PreparedOperation<SnapshotRow>> {
  const { workload, release } = await lockWorkload(ctx, wid, "a capture");
  if (workload.volumes.length === 0) {
    release();
    throw new AppError("no_volumes", `workload "${wid}" has no snapshotable volumes`, {
      hint: "GET /api/v1/workloads/" + wid + " lists the skipped mounts and why",
    });
  }
  try {
    // A global Swarm service cannot be stopped: refuse before anything starts.
    serviceTargets(workload, captureMode(workload, req));
  } catch (err) {
    release();
    throw err;
  }
  return {
    kind: "capture",
    workload: wid,
    cancel: release,
    run: async (op) => {
      const origin = req.origin ?? "capture";
      await ctx.event("capture_started", `capture of ${wid} started`, wid, {
        operationId: op.id,
        origin,
      });
      try {
        return await runCapture(ctx, workload, req, op);
      } catch (err) {
        // Every failure, a pre hook's included, is one capture_failed event (and notification).
        await ctx.event("capture_failed", `capture of ${wid} failed: ${errMessage(err)}`, wid, {
          operationId: op.id,
          origin,
        });
        throw toAppError(err); // e.g. ENOSPC → insufficient_space (507)
      } finally {
        release();
      }
    },
  };
}

function captureMode(workload: Workload, req: CaptureRequest): QuiesceMode {
  // A service's volsnap.* labels count like its tasks' (SPEC §2).
  return req.quiesce ??
    quiesceModeFromLabels([...workload.containers, ...workload.services ?? []]) ?? "stop";
}

async function runCapture(
  ctx: EngineContext,
  workload: Workload,
  req: CaptureRequest,
  op: OpContext,
): Promise<SnapshotRow> {
  const log = ctx.log.child({ op: op.id, workload: workload.id });
  const mode = captureMode(workload, req);
  const compression: Compression = req.compression ?? ctx.config.compression;
  const now = ctx.clock.now();
  const started = ctx.clock.monotonicMs();
  const snapshotId = newId("", now);
  const job = await archiveJob(ctx, workload.id, snapshotId, compression, { incremental: true });
  const { file, finalPath } = job;
  const ordered = startOrder(workload.containers);
  const targets = quiesceTargets(ordered, mode, false, now);
  const services = serviceTargets(workload, mode, now);

  // A running container outside the workload that uses a volume (found by
  // device + inode) keeps writing while we read: refuse under stop/pause,
  // record it and mark the snapshot inconsistent under none.
  const others = await outsideUsers(ctx.docker, workload, workload.volumes);
  if (others.length && mode !== "none") throw busyError(workload.id, others[0]);
  const sharedWith = others.map((u) => `not quiesced: ${describeUser(u)}`);
  // Known before the quiesce, and without a walk over the volumes of its own.
  const bytesTotal = await estimateBytes(ctx, workload);
  // A post hook undoes its pre hook (e.g. ends a database's backup mode), so
  // once pre hooks ran, post hooks run on every path.
  const postHooks = () =>
    runHooks(ctx, ordered, "post").then(() => undefined, (err) => `post hook: ${errMessage(err)}`);
  // Durable record of what we are about to stop (and of the post hooks we
  // will owe), BEFORE running any hook or stopping anything.
  await ctx.journals.write({
    kind: "capture",
    opId: op.id,
    workload: workload.id,
    snapshotId,
    finalPath,
    containers: targets,
    services,
    postHooks: ordered.flatMap((c) => {
      const command = hookCommand(c, "post");
      return command && c.state === "running" ? [{ id: c.id, name: c.name, command }] : [];
    }),
  });
  op.progress({ phase: "pre-hooks" });
  try {
    await runHooks(ctx, ordered, "pre");
  } catch (err) {
    await postHooks();
    await ctx.journals.remove(op.id);
    throw err;
  }
  let stats, manifest, finished;
  let downtimeMs: number | null = null;
  let resumeFailed = false;
  const warnings: string[] = [...sharedWith];
  const reading = {
    createdAt: now.toISOString(),
    quiesce: mode,
    label: req.label,
    volumes: workload.volumes,
    onProgress: (n: number) => op.progress({ bytesDone: n }),
    signal: op.signal,
  };
  try {
    // With something to stop or pause, read the volumes once while the app
    // still runs: then only what changed since is read while it is down.
    if (job.precopy && mode !== "none" && (targets.length || services.length)) {
      op.progress({ phase: "pre-copying", bytesDone: 0, bytesTotal });
      await job.precopy({ ...reading, onWarning: () => {} });
      await ctx.fault("capture.precopied");
    }
    op.progress({ phase: "quiescing" });
    const downStart = ctx.clock.monotonicMs();
    op.signal?.throwIfAborted();
    await quiesce(ctx.docker, targets, ctx.config.stopTimeoutSeconds, log, services);
    await ctx.fault("capture.quiesced");
    try {
      op.progress({ phase: "archiving", bytesDone: 0, bytesTotal });
      manifest = await job.write({ ...reading, onWarning: (w) => warnings.push(w) });
      await ctx.fault("capture.archived");
    } finally {
      op.progress({ phase: "resuming" });
      const failures = await resume(ctx.docker, targets, log, services);
      resumeFailed = failures.length > 0;
      if (targets.length || services.length) {
        downtimeMs = Math.round(ctx.clock.monotonicMs() - downStart);
      }
      for (const f of failures) {
        warnings.push(`container ${f.name} did not come back: ${f.error}`);
        await ctx.event(
          "container_resume_failed",
          `cannot resume ${f.name}: ${f.error}`,
          workload.id,
        );
      }
    }
    // The app runs again: the snapshot is made durable (and hashed) now.
    op.progress({ phase: "storing" });
    finished = await job.finish();
    stats = finished.stats;
  } catch (err) {
    await job.abort().catch(() => {});
    // A container still down keeps the journal: the sweep brings it back.
    if (!resumeFailed && !leftContainersDown(err)) await ctx.journals.remove(op.id);
    const hookError = await postHooks();
    if (hookError) log.warn("post hook failed after a failed capture", { error: hookError });
    throw err;
  }
  const hookError = await postHooks();
  if (hookError) warnings.push(hookError);

  const row = snapshotRow(ctx, {
    id: snapshotId,
    workload: workload.id,
    createdAt: now.toISOString(),
    origin: req.origin ?? "capture",
    label: req.label ?? null,
    compression,
    file,
    stats,
    manifest,
    quiesce: mode,
    downtimeMs,
    // Under stop/pause a changing file is a warning; with no quiesce it means
    // the archive may not be a consistent point in time.
    consistent: !(mode === "none" && (stats.warnings.length > 0 || sharedWith.length > 0)),
    warnings,
    durationMs: Math.round(ctx.clock.monotonicMs() - started),
    // Recorded while packing; a single-file archive is read back once it is
    // durable (the workload runs again by then: no downtime).
    contentDigest: finished.contentDigest ?? await archiveDigests(finalPath, ctx.limits).catch(
      (err) => {
        warnings.push(`no content digest recorded (drills check decode only): ${errMessage(err)}`);
        return undefined;
      },
    ),
    frames: finished.frames,
    parentId: finished.parentId,
  });
  await ctx.catalog.insertSnapshot(row);
  // A container we could not bring back stays in the journal: the sweep retries it.
  if (!resumeFailed) await ctx.journals.remove(op.id);
  await ctx.event(
    "snapshot_created",
    `snapshot ${snapshotId} of ${workload.id} created`,
    workload.id,
    {
      snapshotId,
      operationId: op.id,
      origin: row.origin,
      sizeBytes: row.sizeBytes,
      downtimeMs,
      warnings: warnings.length,
      ...(finished.precopy ? { precopy: finished.precopy } : {}),
    },
  );
  const pruned = await applyRetention(ctx, workload.id, workload.containers);
  if (pruned.length && job.file.endsWith(".frames")) await reclaimFrames(ctx);
  // The off-host copy runs in the background: it never fails or delays the capture.
  ctx.remote?.enqueue(row);
  return row;
}

/** Runs `volsnap.pre` / `volsnap.post` label commands in running containers. */
async function runHooks(ctx: EngineContext, containers: ContainerInfo[], which: "pre" | "post") {
  for (const c of containers) {
    const cmd = hookCommand(c, which);
    if (!cmd) continue;
    const state = which === "pre" ? c.state : await currentState(ctx, c.id);
    if (state !== "running") continue;
    const r = await ctx.docker.exec(c.id, cmd, 5 * 60_000);
    if (r.exitCode !== 0) {
      throw new AppError(
        "quiesce_failed",
        `${which}-hook of container "${c.name}" exited ${r.exitCode}: ${r.output.slice(-500)}`,
      );
    }
  }
}

/** A Swarm task removed by the scale to 0 is "gone": its replacement never ran the pre hook. */
async function currentState(ctx: EngineContext, id: string): Promise<string> {
  try {
    return (await ctx.docker.inspectContainer(id)).state;
  } catch (err) {
    if (err instanceof AppError && err.code === "not_found") return "gone";
    throw err;
  }
}

/**
 * Total bytes for progress: the previous snapshot's tar size when it had the
 * same volumes. No walk of its own (a sizing walk of 30k small files cost a
 * quarter of the capture): a first capture reports bytes done without a total.
 */
async function estimateBytes(ctx: EngineContext, workload: Workload): Promise<number | undefined> {
  const keys = workload.volumes.map((v) => v.key).join("\n");
  const previous = (await ctx.catalog.listSnapshots(workload.id)).find((r) =>
    r.status === "complete" &&
    (r.manifest as Manifest).volumes.map((v) => v.key).join("\n") === keys
  );
  return previous?.uncompressedBytes;
}
