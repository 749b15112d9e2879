/**
 * Mount points at or below a target dir, read from /proc/self/mountinfo
 * (SPEC §5 Guards). A restore renames the live dir away and deletes it later:
 * a mount inside it would move along and its files would be deleted through
 * it. Same-filesystem bind mounts are listed there too, which a device
 * comparison cannot see.
 */
import { AppError } from "../core/errors.ts";

export interface MountEntry {
  mountPoint: string;
  /** The mounted filesystem's root within its source (field 4). */
  root: string;
  fsType: string;
  source: string;
}

/** Undoes mountinfo's octal escapes (`\040` for a space, …). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const parts = line.split(" ");
    const sep = parts.indexOf("-");
    if (sep < 6 || parts.length < sep + 3) continue;
    out.push({
      root: unescape(parts[3]),
      mountPoint: unescape(parts[4]),
      fsType: parts[sep + 1],
      source: unescape(parts[sep + 2]),
    });
  }
  return out;
}

export function readMountInfo(path = "/proc/self/mountinfo"): MountEntry[] {
  return parseMountInfo(Deno.readTextFileSync(path));
}

function realPathOr(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/** Mounts whose mount point is `dir` itself or lies anywhere below it. */
export function mountsAtOrBelow(dir: string, mounts = readMountInfo()): MountEntry[] {
  const roots = [...new Set([dir, realPathOr(dir)].map((p) => p.replace(/\/+$/, "") || "/"))];
  return mounts.filter((m) =>
    roots.some((r) => m.mountPoint === r || m.mountPoint.startsWith(r === "/" ? "/" : r + "/"))
  );
}

/** Refuses a target that is a mount point or has one below it, naming the mount. */
export function checkNoMountsAtOrBelow(key: string, dir: string, mounts = readMountInfo()): void {
  const found = mountsAtOrBelow(dir, mounts);
  if (found.length === 0) return;
  const m = found[0];
  const where = m.mountPoint === realPathOr(dir).replace(/\/+$/, "") || m.mountPoint === dir
    ? `is itself a mount point (${m.fsType} ${m.source}${m.root !== "/" ? ` ${m.root}` : ""})`
    : `has a mount point below it: ${m.mountPoint} (${m.fsType} ${m.source}${
      m.root !== "/" ? ` ${m.root}` : ""
    })`;
  throw new AppError(
    "invalid_input",
    `live dir ${dir} of ${key} ${where}; volsnap restores by renaming the dir and cannot move a mount${
      found.length > 1 ? ` (${found.length} mounts in all)` : ""
    }`,
    { hint: "unmount it first, or mount that data as its own volume of the workload" },
  );
}
