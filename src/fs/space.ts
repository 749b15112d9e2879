import { statfsSync } from "node:fs";

/**
 * Filesystem identity (st_dev), bytes available to unprivileged writers and
 * free inodes. `freeInodes` is undefined where the filesystem does not count
 * inodes (statfs reports 0 files, e.g. btrfs).
 */
export function filesystemOf(
  path: string,
): { dev: number; availableBytes: number; freeInodes?: number } {
  const st = Deno.statSync(path);
  const fs = statfsSync(path);
  return {
    dev: st.dev,
    availableBytes: Number(fs.bavail) * Number(fs.bsize),
    freeInodes: Number(fs.files) > 0 ? Number(fs.ffree) : undefined,
  };
}

/** True when `dir` is a mount point (its device differs from its parent's). */
export function isMountPoint(dir: string): boolean {
  const a = Deno.lstatSync(dir);
  const b = Deno.lstatSync(dir.replace(/\/+$/, "") + "/..");
  return a.dev !== b.dev || a.ino === b.ino;
}
