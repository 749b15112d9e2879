/**
 * Classifies one container mount as a snapshotable volume or a skipped mount
 * with a reason a user can act on (SPEC §2).
 *
 *   volume, driver local      → snapshot the volume's Mountpoint (a volume made
 *                               with --opt type/device: see classifyMountedVolume)
 *   volume, other driver      → skip: only local volumes
 *   bind of a directory       → snapshot, unless a system path, the Docker
 *                               socket, volsnap's data dir, or outside bindAllow
 *   bind of a file / missing  → skip
 *   tmpfs, npipe, anything else → skip
 */
import { isAbsolute, normalize, resolve } from "node:path";
import type { ContainerMount, DockerApi } from "../docker/api.ts";
import { AppError } from "../core/errors.ts";

export interface MountPolicy {
  /** volsnap's data dir: never captured, nor anything containing it. */
  dataDir: string;
  /** When set, a bind source must lie inside one of these directories. */
  bindAllow?: string[];
  /** Host path of the Docker socket in use (default /var/run/docker.sock). */
  dockerSocketPath?: string;
}

export type MountClass =
  | { kind: "volume"; key: string; name: string; hostPath: string }
  | { kind: "bind"; key: string; source: string; hostPath: string }
  | { kind: "skip"; reason: string };

/** Protected trees: the path itself and everything inside it. "/" only as itself. */
const SYSTEM_DIRS = [
  "/etc",
  "/usr",
  "/bin",
  "/sbin",
  "/boot",
  "/dev",
  "/proc",
  "/sys",
  "/run",
  "/var/run",
];

const inside = (p: string, root: string) =>
  p === root || p.startsWith(root === "/" ? "/" : root + "/");

/**
 * Why `path` must not be captured, or undefined when it may be. A path is
 * protected when it is, lies inside, or contains a protected tree: a bind of
 * `/var` would otherwise capture (and a restore overwrite) `/var/run`.
 */
export function systemPathReason(path: string, policy: MountPolicy): string | undefined {
  const p = normalize(path).replace(/(.)\/+$/, "$1");
  if (p === "/") return `${p} is a system path`;
  const top = p.split("/")[1] ?? "";
  if (/^lib/.test(top)) return `${p} is a system path`; // /lib, /lib64, /lib32, /libx32
  for (const dir of SYSTEM_DIRS) {
    if (inside(p, dir) || inside(dir, p)) return `${p} is a system path (${dir})`;
  }
  const sockets = new Set(["/var/run/docker.sock", "/run/docker.sock"]);
  if (policy.dockerSocketPath) sockets.add(normalize(policy.dockerSocketPath));
  for (const s of sockets) {
    if (inside(s, p) || inside(p, s)) return `${p} holds the Docker socket`;
  }
  const data = normalize(resolve(policy.dataDir));
  if (inside(p, data) || inside(data, p)) return `${p} holds volsnap's own data directory`;
  return undefined;
}

function outsideAllowList(path: string, allow: string[] | undefined): boolean {
  if (!allow || allow.length === 0) return false;
  return !allow.some((a) => inside(path, normalize(resolve(a)).replace(/(.)\/+$/, "$1")));
}

async function realPathOrUndefined(p: string): Promise<string | undefined> {
  try {
    return await Deno.realPath(p);
  } catch {
    return undefined;
  }
}

/**
 * @throws AppError docker_unavailable / docker_error from inspectVolume;
 *   a volume that vanished since the container inspect is a skip, not an error.
 */
export async function classifyMount(
  docker: Pick<DockerApi, "inspectVolume">,
  m: ContainerMount,
  policy: MountPolicy,
): Promise<MountClass> {
  if (m.type === "tmpfs") return { kind: "skip", reason: "tmpfs holds no persistent data" };
  if (m.type === "volume") return await classifyVolume(docker, m, policy);
  if (m.type === "bind") return await classifyBind(m, policy);
  return { kind: "skip", reason: `mount type "${m.type}" is not supported` };
}

async function classifyVolume(
  docker: Pick<DockerApi, "inspectVolume">,
  m: ContainerMount,
  policy: MountPolicy,
): Promise<MountClass> {
  if (!m.name) return { kind: "skip", reason: "volume mount without a volume name" };
  if (m.driver && m.driver !== "local") return unsupportedDriver(m.driver);
  let vol;
  try {
    vol = await docker.inspectVolume(m.name);
  } catch (err) {
    if (err instanceof AppError && err.code === "not_found") {
      return { kind: "skip", reason: `volume "${m.name}" no longer exists` };
    }
    throw err;
  }
  if (vol.driver !== "local") return unsupportedDriver(vol.driver);
  if (!vol.mountpoint || !isAbsolute(vol.mountpoint)) {
    return { kind: "skip", reason: `volume "${m.name}" has no host mountpoint` };
  }
  const opts = vol.options ?? {};
  if (opts.type || opts.device) return await classifyMountedVolume(m.name, opts, policy);
  return { kind: "volume", key: `volume:${m.name}`, name: m.name, hostPath: vol.mountpoint };
}

/**
 * A local volume created with `--opt type=… --opt device=…` is a mount that
 * the engine makes at its Mountpoint only while a container uses it, so after
 * a `stop` quiesce the Mountpoint is an empty directory (measured on 20.10).
 * Capturing it would store nothing, and restoring into it would write under
 * the mount. So: a bind-type volume (`o=bind`) is captured at its device
 * directory, which is always there; tmpfs holds nothing; anything else
 * (nfs, cifs, block devices) is skipped.
 */
async function classifyMountedVolume(
  name: string,
  opts: Record<string, string>,
  policy: MountPolicy,
): Promise<MountClass> {
  const type = opts.type ?? "";
  if (type === "tmpfs") {
    return { kind: "skip", reason: "tmpfs-backed volume holds no persistent data" };
  }
  const isBind = (opts.o ?? "").split(",").some((o) => o.trim() === "bind" || o.trim() === "rbind");
  const device = opts.device ?? "";
  if (isBind && isAbsolute(device)) {
    const cls = await classifyBind({
      type: "bind",
      source: device,
      destination: "",
      rw: true,
    }, policy);
    if (cls.kind === "skip") {
      return { kind: "skip", reason: `volume "${name}" binds ${device}: ${cls.reason}` };
    }
    return { kind: "volume", key: `volume:${name}`, name, hostPath: cls.hostPath };
  }
  return {
    kind: "skip",
    reason:
      `volume "${name}" is mounted from ${device || "a device"} (type ${type || "unknown"}) ` +
      "only while a container uses it: not captured",
  };
}

const unsupportedDriver = (driver: string): MountClass => ({
  kind: "skip",
  reason: `volume driver "${driver}" is not supported: only local volumes are captured`,
});

async function classifyBind(m: ContainerMount, policy: MountPolicy): Promise<MountClass> {
  const source = m.source;
  if (!source || !isAbsolute(source)) {
    return { kind: "skip", reason: "bind mount without an absolute host source" };
  }
  const sys = systemPathReason(source, policy);
  if (sys) return { kind: "skip", reason: sys };
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(source); // Docker follows a symlinked source, so do we
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return { kind: "skip", reason: `bind source ${source} does not exist on this host` };
    }
    return { kind: "skip", reason: `bind source ${source} cannot be read: ${String(err)}` };
  }
  if (!info.isDirectory) {
    return { kind: "skip", reason: "single-file bind mounts are not captured" };
  }
  // A symlinked source must not smuggle a system path or escape the allow list.
  const real = await realPathOrUndefined(source) ?? source;
  const realSys = real !== source ? systemPathReason(real, policy) : undefined;
  if (realSys) return { kind: "skip", reason: `${source} resolves to ${real}: ${realSys}` };
  if (outsideAllowList(source, policy.bindAllow) || outsideAllowList(real, policy.bindAllow)) {
    return {
      kind: "skip",
      reason: `bind source ${source} is outside VOLSNAP_BIND_ALLOW (${
        policy.bindAllow!.join(", ")
      })`,
    };
  }
  return { kind: "bind", key: `bind:${source}`, source, hostPath: real };
}
