/**
 * Quiesce and resume a workload's containers. The caller records the list in
 * its journal BEFORE calling quiesce(), so a crash at any point leaves enough
 * on disk for the recovery sweep to bring every container back.
 */
import type { DockerApi } from "../docker/api.ts";
import { AppError, errMessage } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { ContainerInfo, QuiesceMode } from "../core/model.ts";
import type { JournalContainer } from "../journal/journal.ts";

/**
 * Containers to quiesce, in stop order (dependents first). `containersInStartOrder`
 * must already be dependency-sorted. Under "stop" paused containers are left
 * alone (already quiescent) unless `includePaused` (restore must stop them: a
 * paused container would keep the old dir mounted across the swap).
 */
export function quiesceTargets(
  containersInStartOrder: ContainerInfo[],
  mode: QuiesceMode,
  includePaused = false,
  now = new Date(),
): JournalContainer[] {
  if (mode === "none") return [];
  const picked = containersInStartOrder.filter((c) =>
    c.state === "running" || c.state === "restarting" || (includePaused && c.state === "paused")
  );
  return picked.reverse().map((c) => ({
    id: c.id,
    name: c.name,
    action: mode === "pause" ? "pause" : "stop",
    since: now.toISOString(),
    ...(c.state === "paused" && mode !== "pause" ? { repause: true } : {}),
  }));
}

/** quiesce_failed; `unresumed` names containers that could not be brought back. */
export class QuiesceError extends AppError {
  constructor(message: string, readonly unresumed: string[], cause: unknown) {
    super("quiesce_failed", message, { cause });
    this.name = "QuiesceError";
  }
}

/** True when a quiesce failure left some container down (keep the journal for the sweep). */
export function leftContainersDown(err: unknown): boolean {
  return err instanceof QuiesceError && err.unresumed.length > 0;
}

/**
 * Stops/pauses `targets` in order. If one fails, resumes the ones already
 * quiesced and throws a QuiesceError, naming any it could not bring back.
 */
export async function quiesce(
  docker: DockerApi,
  targets: JournalContainer[],
  stopTimeoutSeconds: number,
  log: Logger,
): Promise<void> {
  const done: JournalContainer[] = [];
  for (const t of targets) {
    try {
      if (t.action === "pause") await docker.pauseContainer(t.id);
      else await docker.stopContainer(t.id, stopTimeoutSeconds);
      done.push(t);
    } catch (err) {
      log.error("quiesce failed; resuming containers already quiesced", {
        container: t.name,
        error: errMessage(err),
      });
      // The failed one may be half-stopped: include it in the resume.
      const failures = await resume(docker, [...done, t], log);
      const unresumed = failures.map((f) => f.name);
      throw new QuiesceError(
        `cannot ${t.action} container "${t.name}": ${errMessage(err)}` +
          (unresumed.length ? `; also failed to resume: ${unresumed.join(", ")}` : ""),
        unresumed,
        err,
      );
    }
  }
}

/**
 * Brings back `targets` (given in stop order) in start order. Tries every
 * container even if one fails, and returns the failures.
 */
export async function resume(
  docker: DockerApi,
  targets: JournalContainer[],
  log: Logger,
): Promise<{ name: string; error: string }[]> {
  const failures: { name: string; error: string }[] = [];
  for (const t of [...targets].reverse()) {
    try {
      if (t.action === "pause") await docker.unpauseContainer(t.id);
      else await docker.startContainer(t.id);
      if (t.repause) await docker.pauseContainer(t.id);
    } catch (err) {
      failures.push({ name: t.name, error: errMessage(err) });
      log.error("cannot resume container", {
        container: t.name,
        action: t.action,
        error: errMessage(err),
      });
    }
  }
  return failures;
}
