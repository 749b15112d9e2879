import { statfsSync } from "node:fs";

/** Filesystem identity (st_dev) and bytes available to unprivileged writers. */
export function filesystemOf(path: string): { dev: number; availableBytes: number } {
  const st = Deno.statSync(path);
  const fs = statfsSync(path);
  return { dev: st.dev, availableBytes: Number(fs.bavail) * Number(fs.bsize) };
}

/** True when `dir` is a mount point (its device differs from its parent's). */
export function isMountPoint(dir: string): boolean {
  const a = Deno.lstatSync(dir);
  const b = Deno.lstatSync(dir.replace(/\/+$/, "") + "/..");
  return a.dev !== b.dev || a.ino === b.ino;
}
