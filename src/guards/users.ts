/**
 * Guards (SPEC §5 "Guards"): checks that hold whatever the host looks like.
 *
 *   users.ts   who else uses a target dir: running containers whose mount
 *              is the same directory, a dir inside it or a dir above it,
 *              compared by device + inode, never by path (a volume created
 *              with `o=bind`, a bind of a parent, child or symlinked path);
 *   mounts.ts  mount points at or below a target (/proc/self/mountinfo);
 *   the sweep, restore and capture call these before they touch anything.
 */
import { dirname } from "node:path";
import type { ContainerDetails, DockerApi } from "../docker/api.ts";
import { AppError } from "../core/errors.ts";

export interface GuardTarget {
  key: string;
  /** The target's host dir (a live dir); may be missing after a crash. */
  hostPath: string;
  /** Other paths of the same data (a restore's old/staged dirs). */
  aliases?: string[];
  /** Volume targets (`…/volumes/<name>/_data`) stop the parent walk at the volume dir. */
  type?: "volume" | "bind";
}

export interface TargetUser {
  key: string;
  containerId: string;
  containerName: string;
  state: string;
  destination: string;
  /** How the mount relates to the target. */
  relation: "same" | "inside" | "above";
}

const ACTIVE = new Set(["running", "paused", "restarting"]);

type Ident = string; // "dev:ino"

function ident(path: string): Ident | undefined {
  try {
    const st = Deno.statSync(path); // follows symlinks: a symlinked path is the same dir
    return st.isDirectory ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}

/** dev:ino of `path` and of each dir above it (until `/`, or the volume dir). */
function chain(path: string, stopAtVolumeDir: boolean): Ident[] {
  const out: Ident[] = [];
  let p = realPathOr(path);
  for (let depth = 0; depth < 4096; depth++) {
    const parent = dirname(p);
    if (parent === p) break; // "/" itself is nobody's "above"
    const id = ident(p);
    if (id) out.push(id);
    if (stopAtVolumeDir && depth === 1) break; // …/volumes/<name>/_data → …/volumes/<name>
    p = parent;
  }
  return out;
}

function realPathOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/**
 * Running (or paused, restarting) containers that use any of `targets`,
 * except those in `exclude` (by id). A container removed meanwhile is skipped.
 */
export async function runningUsersOf(
  docker: DockerApi,
  targets: GuardTarget[],
  exclude: Set<string> = new Set(),
): Promise<TargetUser[]> {
  const wanted = targets.map((t) => {
    const same = new Set<Ident>();
    for (const p of [t.hostPath, ...(t.aliases ?? [])]) {
      const id = ident(p);
      if (id) same.add(id);
    }
    const above = new Set(
      chain(t.hostPath, t.type === "volume").slice(1).filter((id) => !same.has(id)),
    );
    const paths = [t.hostPath, ...(t.aliases ?? [])].map((p) => realPathOr(p).replace(/\/+$/, ""));
    return { t, same, above, paths };
  });
  const users: TargetUser[] = [];
  for (const c of await docker.listContainers()) {
    if (exclude.has(c.id) || !ACTIVE.has(c.state)) continue;
    let details: ContainerDetails;
    try {
      details = await docker.inspectContainer(c.id);
    } catch (err) {
      if (err instanceof AppError && err.code === "not_found") continue;
      throw err;
    }
    for (const m of details.mounts) {
      if (!m.source) continue;
      const src = realPathOr(m.source);
      const srcChain = chain(src, false);
      for (const w of wanted) {
        let relation: TargetUser["relation"] | undefined;
        if (srcChain.length && w.same.has(srcChain[0])) relation = "same";
        else if (srcChain.slice(1).some((id) => w.same.has(id))) relation = "inside";
        else if (srcChain.length && w.above.has(srcChain[0])) relation = "above";
        // A live dir missing after a crash has no inode: fall back to its path.
        else if (w.paths.some((p) => src === p || src.startsWith(p + "/"))) relation = "same";
        if (!relation) continue;
        users.push({
          key: w.t.key,
          containerId: c.id,
          containerName: c.name,
          state: c.state,
          destination: m.destination,
          relation,
        });
      }
    }
  }
  return users;
}

/** One line naming a user, for errors and events. */
export function describeUser(u: TargetUser): string {
  const how = u.relation === "same"
    ? "mounts it"
    : u.relation === "inside"
    ? "mounts a dir inside it"
    : "mounts a dir above it";
  return `${u.key}: ${u.state} container ${u.containerName} ${how} (at ${u.destination})`;
}

/**
 * Refuses (`workload_busy`) when a running container outside `workload`
 * uses one of `targets`: it would keep writing into data being read or
 * swapped away. Restore calls it at pre-flight and again before the quiesce;
 * capture under `stop`/`pause` calls it before quiescing.
 */
export async function checkNoOutsideUsers(
  docker: DockerApi,
  workload: { id: string; containers: { id: string }[] },
  targets: { key: string; hostPath: string; type: "volume" | "bind" }[],
): Promise<void> {
  const users = await outsideUsers(docker, workload, targets);
  if (users.length) throw busyError(workload.id, users[0]);
}

/** The refusal naming one outside user. */
export function busyError(workloadId: string, u: TargetUser): AppError {
  return new AppError(
    "workload_busy",
    `${describeUser(u)}, which is not part of workload "${workloadId}"`,
    { hint: `stop ${u.containerName} first, or give it the same volsnap.workload label` },
  );
}

/** Running containers outside `workload` that use one of `targets`. */
export function outsideUsers(
  docker: DockerApi,
  workload: { id: string; containers: { id: string }[] },
  targets: { key: string; hostPath: string; type: "volume" | "bind" }[],
): Promise<TargetUser[]> {
  return runningUsersOf(
    docker,
    targets.map((t) => ({ key: t.key, hostPath: t.hostPath, type: t.type })),
    new Set(workload.containers.map((c) => c.id)),
  );
}
