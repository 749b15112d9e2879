/**
 * Quiesce at the Swarm service level (SPEC §2). Stopping a task container
 * makes Swarm start a replacement that writes while we read, so a `stop`
 * scales each replicated service to 0 instead and waits until no task of it
 * runs on this node; resuming scales it back to the count recorded in the
 * journal before the scale.
 *
 *   serviceTargets(workload, mode) → the services to scale (journal them first);
 *                                    global services, jobs and tasks of services
 *                                    this node cannot manage refuse `stop`
 *   scaleDown(all) → each to replicas 0 → poll tasks + local containers until none runs here
 *   scaleBack(all) → each still at 0? → its recorded replicas → wait (bounded) until they run
 *
 * `pause` and `none` leave services alone: a paused task container is still
 * running to Swarm, so nothing replaces it (quiesce.ts pauses it like any container).
 */
import type { DockerApi } from "../docker/api.ts";
import { AppError, errMessage } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { QuiesceMode, Workload } from "../core/model.ts";
import type { JournalService } from "../journal/journal.ts";
import { containerHoldsMounts, swarmServiceOf } from "../workloads/swarm_services.ts";

export interface ServiceWaits {
  /** Poll interval while waiting for tasks (default 100 ms). */
  pollMs?: number;
  /** How long scaleBack waits for the replicas to run (default 30 s; never fails on it). */
  upTimeoutMs?: number;
}

/** Task states after which a task never runs again. */
const TERMINAL = new Set(["complete", "shutdown", "failed", "rejected", "remove", "orphaned"]);

/**
 * The services a `mode` quiesce scales, each with its current replica count.
 * @throws AppError quiesce_refused under `stop` for a global service or a job
 *   (they cannot be scaled to 0) and for a task whose service this engine
 *   cannot manage (not a swarm manager): stopping the task would only make
 *   Swarm replace it.
 */
export function serviceTargets(
  workload: Workload,
  mode: QuiesceMode,
  now = new Date(),
): JournalService[] {
  if (mode !== "stop") return [];
  const services = workload.services ?? [];
  for (const s of services) {
    if (s.mode !== "replicated") {
      throw new AppError(
        "quiesce_refused",
        `workload "${workload.id}": Swarm service ${s.name} is a ${s.mode} service, which cannot be scaled to 0, and stopping its task would only make Swarm start another`,
        { hint: "capture it with quiesce pause or none (label volsnap.quiesce)" },
      );
    }
  }
  const known = new Set(services.map((s) => s.id));
  const unmanaged = workload.containers.find((c) => c.swarmService && !known.has(c.swarmService));
  if (unmanaged) {
    throw new AppError(
      "quiesce_refused",
      `workload "${workload.id}": container ${unmanaged.name} is a Swarm task, and this engine is not a swarm manager, so its service cannot be scaled to 0`,
      { hint: "run volsnap on a manager node, or capture with quiesce pause or none" },
    );
  }
  return services.map((s) => ({
    id: s.id,
    name: s.name,
    replicas: s.replicas ?? 0,
    since: now.toISOString(),
  }));
}

/**
 * Scales every service in `services` to 0, then waits until no task of any of
 * them runs on this node, neither by the orchestrator's account nor as a
 * local container (all scale at once: the waits overlap).
 * @throws AppError quiesce_failed when tasks still run after the stop grace
 *   period plus a margin; the caller scales them all back (scaleBack leaves
 *   the ones never scaled as they are).
 */
export async function scaleDown(
  docker: DockerApi,
  services: JournalService[],
  stopTimeoutSeconds: number,
  log: Logger,
  waits: ServiceWaits = {},
): Promise<void> {
  if (services.length === 0) return;
  let graceMs = stopTimeoutSeconds * 1000;
  for (const s of services) {
    const svc = await docker.inspectService(s.id);
    graceMs = Math.max(graceMs, svc.stopGraceMs ?? 10_000);
    await docker.scaleService(s.id, 0);
    log.info("Swarm service scaled to 0", { service: s.name, replicas: s.replicas });
  }
  const deadline = Date.now() + graceMs + 30_000;
  const node = await docker.swarmNodeId();
  const ids = new Set(services.map((s) => s.id));
  for (;;) {
    const live: string[] = [];
    for (const s of services) {
      const tasks = (await docker.listTasks(s.id)).filter((t) =>
        !TERMINAL.has(t.state) && (!t.nodeId || !node || t.nodeId === node)
      );
      if (tasks.length) live.push(`${s.name} (${tasks.length} task(s))`);
    }
    const local = (await docker.listContainers()).filter((c) =>
      ids.has(swarmServiceOf(c.labels) ?? "") && containerHoldsMounts(c.state)
    );
    if (live.length === 0 && local.length === 0) return;
    if (Date.now() > deadline) {
      throw new AppError(
        "quiesce_failed",
        `Swarm tasks still run on this node ${
          Math.round((graceMs + 30_000) / 1000)
        } s after their services were scaled to 0: ${
          [...live, ...local.map((c) => `container ${c.name}`)].join(", ")
        }`,
        { hint: "check `docker service ps` for tasks that do not stop" },
      );
    }
    await sleep(waits.pollMs ?? 100);
  }
}

/**
 * Scales each service back to its recorded replicas, but only while it is at
 * 0: volsnap is the only one that sets 0, so any other count means the
 * scale-down never happened or someone has taken over since; then it is left
 * as it is. A service removed meanwhile has nothing to bring back. Then waits
 * (bounded, never failing on it) until the replicas run, so the downtime
 * measured covers the start of the tasks. Tries every service.
 * @returns the services the engine refused to scale, with the error.
 */
export async function scaleBack(
  docker: DockerApi,
  services: JournalService[],
  log: Logger,
  waits: ServiceWaits = {},
): Promise<{ name: string; error: string }[]> {
  const failures: { name: string; error: string }[] = [];
  const scaled: JournalService[] = [];
  for (const s of services) {
    try {
      if (await scaleBackOne(docker, s, log)) scaled.push(s);
    } catch (err) {
      failures.push({ name: `service ${s.name}`, error: errMessage(err) });
      log.error("cannot scale service back", { service: s.name, error: errMessage(err) });
    }
  }
  const deadline = Date.now() + (waits.upTimeoutMs ?? 30_000);
  for (const s of scaled) {
    for (;;) {
      try {
        const running = (await docker.listTasks(s.id)).filter((t) =>
          t.desiredState === "running" && t.state === "running"
        ).length;
        if (running >= s.replicas) {
          break;
        }
      } catch (err) {
        log.warn("cannot read tasks after scaling back", {
          service: s.name,
          error: errMessage(err),
        });
        break;
      }
      if (Date.now() > deadline) {
        log.warn("replicas not all running yet; Swarm keeps starting them", { service: s.name });
        break;
      }
      await sleep(waits.pollMs ?? 100);
    }
  }
  return failures;
}

/** True when it scaled `s` back; false when there was nothing (left) to do. */
async function scaleBackOne(docker: DockerApi, s: JournalService, log: Logger) {
  let svc;
  try {
    svc = await docker.inspectService(s.id);
  } catch (err) {
    if (err instanceof AppError && err.code === "not_found") {
      log.warn("service removed meanwhile; nothing to scale back", { service: s.name });
      return false;
    }
    throw err;
  }
  if (svc.mode !== "replicated" || svc.replicas !== 0 || s.replicas === 0) {
    if (svc.replicas !== s.replicas) {
      log.warn("service changed meanwhile; left as it is", {
        service: s.name,
        replicas: svc.replicas,
        recorded: s.replicas,
      });
    }
    return false;
  }
  await docker.scaleService(s.id, s.replicas);
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
