/**
 * Quiesce and resume a workload's containers and Swarm services. The caller
 * records both lists in its journal BEFORE calling quiesce(), so a crash at
 * any point leaves enough on disk for the recovery sweep to bring every
 * container back and every service back to its replicas.
 *
 *   quiesce: containers in stop order, then services (scaled to 0, waited for)
 *   resume:  services back to their replicas, then containers in start order
 */
import type { DockerApi } from "../docker/api.ts";
import { AppError, errMessage } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { ContainerInfo, QuiesceMode } from "../core/model.ts";
import type { JournalContainer, JournalService } from "../journal/journal.ts";
import { scaleBack, scaleDown } from "./service_quiesce.ts";

export { serviceTargets } from "./service_quiesce.ts";

/**
 * Containers to quiesce, in stop order (dependents first). `containersInStartOrder`
 * must already be dependency-sorted. Under "stop" paused containers are left
 * alone (already quiescent) unless `includePaused` (restore must stop them: a
 * paused container would keep the old dir mounted across the swap). Under
 * "stop" a Swarm task is never a target: its service is scaled instead
 * (serviceTargets); under "pause" it is paused like any container.
 */
export function quiesceTargets(
  containersInStartOrder: ContainerInfo[],
  mode: QuiesceMode,
  includePaused = false,
  now = new Date(),
): JournalContainer[] {
  if (mode === "none") return [];
  const picked = containersInStartOrder.filter((c) =>
    (c.state === "running" || c.state === "restarting" ||
      (includePaused && c.state === "paused")) &&
    !(mode === "stop" && c.swarmService)
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
 * Stops/pauses `targets` in order, then scales `services` to 0 and waits for
 * their tasks to stop. If one step fails, resumes what was already quiesced
 * and throws a QuiesceError, naming anything it could not bring back.
 */
export async function quiesce(
  docker: DockerApi,
  targets: JournalContainer[],
  stopTimeoutSeconds: number,
  log: Logger,
  services: JournalService[] = [],
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
  try {
    await scaleDown(docker, services, stopTimeoutSeconds, log);
  } catch (err) {
    log.error("quiesce failed; resuming what was already quiesced", { error: errMessage(err) });
    // A failed scale may have half-happened: scale them all back (scaleBack
    // leaves alone what it never scaled).
    const failures = await resume(docker, targets, log, services);
    const unresumed = failures.map((f) => f.name);
    throw new QuiesceError(
      `cannot scale Swarm services to 0: ${errMessage(err)}` +
        (unresumed.length ? `; also failed to resume: ${unresumed.join(", ")}` : ""),
      unresumed,
      err,
    );
  }
}

/**
 * Brings back `targets` (given in stop order) in start order, after scaling
 * `services` back to their recorded replicas. Tries every container and
 * service even if one fails, and returns the failures.
 */
export async function resume(
  docker: DockerApi,
  targets: JournalContainer[],
  log: Logger,
  services: JournalService[] = [],
): Promise<{ name: string; error: string }[]> {
  const failures: { name: string; error: string }[] = [];
  failures.push(...await scaleBack(docker, [...services].reverse(), log));
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
