/**
 * Workload discovery (SPEC §2): every container, running or not, grouped into
 * workloads, with the volumes each workload would capture and the mounts it
 * would not (each with a reason).
 *
 *   list containers (all=1) and Swarm services → merge each service's counted
 *   labels into its tasks → drop volsnap.exclude=true → group by
 *   volsnap.workload › stack › swarm service › compose project › name
 *   (services too) → inspect each container (current Mounts; a task counts
 *   only while it runs, a service with no running task by its spec's Mounts)
 *   → classify mounts → merge by key (one volume, many destinations)
 *   → sort: workloads by id, containers by name, volumes by key.
 *
 * Read-only: nothing here changes Docker or the filesystem.
 */
import type {
  ContainerDetails,
  ContainerMount,
  ContainerSummary,
  DockerApi,
  ServiceSummary,
} from "../docker/api.ts";
import { AppError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { ContainerInfo, SkippedMount, VolumeTarget, Workload } from "../core/model.ts";
import { isExcluded, LABEL_COMPOSE_SERVICE, LABEL_SWARM_SERVICE_NAME } from "./labels.ts";
import { classifyMount, type MountPolicy } from "./mounts.ts";
import { dependenciesOf } from "./order.ts";
import { workloadIdFor } from "./grouping.ts";
import {
  containerHoldsMounts,
  serviceTaskLabels,
  swarmServiceOf,
  toServiceInfo,
  withServiceLabels,
} from "./swarm_services.ts";

// Callers get the whole workload toolkit from this one module.
export { startOrder } from "./order.ts";
export { measureDirSize } from "./dir_size.ts";
export { hookCommand, quiesceModeFromLabels } from "./labels.ts";

export interface DiscoveryOptions {
  dataDir: string;
  /** VOLSNAP_BIND_ALLOW: bind sources must lie inside one of these when set. */
  bindAllow?: string[];
  /** Host path of the Docker socket, never captured. */
  dockerSocketPath?: string;
  /** Where grouping problems (unusable ids) are reported. */
  log?: Logger;
}

/**
 * All workloads on this engine, sorted by id.
 * @throws AppError docker_unavailable / docker_error when the engine fails.
 *   A container removed between list and inspect is silently left out.
 */
export async function discoverWorkloads(
  docker: DockerApi,
  opts: DiscoveryOptions,
): Promise<Workload[]> {
  const { all, services } = await listAll(docker);
  const groups = groupMembers(all, services, opts.log);
  const out: Workload[] = [];
  for (const [id, members] of [...groups].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) {
    const w = await buildWorkload(docker, id, members, all, opts);
    if (w.containers.length > 0 || w.services?.length) out.push(w);
  }
  return out;
}

/**
 * One workload by id.
 * @throws AppError not_found when no container belongs to `wid`.
 */
export async function findWorkload(
  docker: DockerApi,
  wid: string,
  opts: DiscoveryOptions,
): Promise<Workload> {
  const { all, services } = await listAll(docker);
  const members = groupMembers(all, services, opts.log).get(wid);
  const w = members ? await buildWorkload(docker, wid, members, all, opts) : undefined;
  if (!w || (w.containers.length === 0 && !w.services?.length)) {
    throw new AppError("not_found", `workload "${wid}" not found`, {
      hint:
        "List workloads with GET /api/v1/workloads; ids come from the volsnap.workload label, " +
        "the compose project, or the container name.",
    });
  }
  return w;
}

interface Members {
  containers: ContainerSummary[];
  services: ServiceSummary[];
}

/** Containers (with their service's labels merged in) and the services this engine manages. */
async function listAll(docker: DockerApi) {
  const services = (await docker.listServices()) ?? [];
  const all = withServiceLabels(await docker.listContainers(), services);
  return { all, services };
}

function groupMembers(list: ContainerSummary[], services: ServiceSummary[], log?: Logger) {
  const groups = new Map<string, Members>();
  const place = (name: string, labels: Record<string, string>, add: (m: Members) => void) => {
    if (isExcluded(labels)) return;
    const g = workloadIdFor({ name, labels });
    if (!g.ok) {
      log?.warn("container left out of discovery", { container: name, reason: g.reason });
      return;
    }
    if (g.sanitizedFrom) {
      log?.info("workload id sanitized", { container: name, from: g.sanitizedFrom, to: g.id });
    }
    const m = groups.get(g.id) ?? { containers: [], services: [] };
    add(m);
    groups.set(g.id, m);
  };
  for (const c of list) place(c.name, c.labels, (m) => m.containers.push(c));
  for (const s of services) place(s.name, serviceTaskLabels(s), (m) => m.services.push(s));
  return groups;
}

async function buildWorkload(
  docker: DockerApi,
  id: string,
  members: Members,
  all: ContainerSummary[],
  opts: DiscoveryOptions,
): Promise<Workload> {
  const policy: MountPolicy = {
    dataDir: opts.dataDir,
    bindAllow: opts.bindAllow,
    dockerSocketPath: opts.dockerSocketPath,
  };
  const details: ContainerDetails[] = [];
  for (const m of members.containers) {
    try {
      // Labels as listed: the service's counted labels are merged in there.
      details.push({ ...await docker.inspectContainer(m.id), labels: m.labels });
    } catch (err) {
      if (err instanceof AppError && err.code === "not_found") continue; // removed meanwhile
      throw err;
    }
  }
  details.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const containers: ContainerInfo[] = details.map((d) => toContainerInfo(d, all));
  const volumes = new Map<string, VolumeTarget>();
  const skipped: SkippedMount[] = [];
  const seen = new Set<string>();
  const sources: { name: string; mounts: ContainerMount[] }[] = [];
  for (const d of details) {
    // `--tmpfs` mounts live in HostConfig.Tmpfs, not in Mounts: list them as skipped too.
    const tmpfs = (d.tmpfs ?? []).filter((dest) => !d.mounts.some((m) => m.destination === dest));
    const mounts: ContainerMount[] = [
      ...d.mounts,
      ...tmpfs.map((destination) => ({ type: "tmpfs", source: "", destination, rw: true })),
    ];
    if (!swarmServiceOf(d.labels)) {
      sources.push({ name: d.name, mounts });
    } else if (containerHoldsMounts(d.state)) {
      // A task is named after its service, which outlives it (SPEC §2); an
      // ended task's mounts may be an older spec's, so only live tasks count.
      sources.push({ name: d.labels[LABEL_SWARM_SERVICE_NAME] || d.name, mounts });
    }
  }
  for (const s of members.services) {
    const live = details.some((d) =>
      swarmServiceOf(d.labels) === s.id && containerHoldsMounts(d.state)
    );
    if (!live) sources.push({ name: s.name, mounts: s.mounts }); // no task runs: its spec
  }
  for (const { name, mounts } of sources) {
    for (const m of mounts) {
      // Replicas of one service report the same mounts: list each once.
      const once = `${name}\0${m.destination}`;
      if (seen.has(once)) continue;
      seen.add(once);
      const cls = await classifyMount(docker, m, policy);
      if (cls.kind === "skip") {
        skipped.push({
          container: name,
          destination: m.destination,
          type: m.type,
          ...(m.source ? { source: m.source } : {}),
          ...(m.name ? { name: m.name } : {}),
          reason: cls.reason,
        });
        continue;
      }
      const v = volumes.get(cls.key) ?? {
        key: cls.key,
        type: cls.kind,
        ...(cls.kind === "volume" ? { name: cls.name } : { source: cls.source }),
        hostPath: cls.hostPath,
        destinations: [],
      };
      v.destinations.push({ container: name, destination: m.destination, readOnly: !m.rw });
      volumes.set(cls.key, v);
    }
  }
  return {
    id,
    containers,
    volumes: [...volumes.values()].sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    skipped,
    services: members.services.map(toServiceInfo).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    ),
  };
}

/** `all` lets `network_mode: container:<id>` name its target, wherever it is grouped. */
function toContainerInfo(d: ContainerDetails, all: ContainerSummary[]): ContainerInfo {
  const service = d.labels[LABEL_COMPOSE_SERVICE] || undefined;
  const swarmService = swarmServiceOf(d.labels);
  const resolveRef = (ref: string) =>
    all.find((c) => c.id === ref || c.id.startsWith(ref) || c.name === ref)?.name;
  return {
    id: d.id,
    name: d.name,
    state: d.state,
    labels: d.labels,
    ...(service ? { service } : {}),
    dependsOn: dependenciesOf(d.labels, d.networkMode, resolveRef),
    ...(swarmService ? { swarmService } : {}),
  };
}
