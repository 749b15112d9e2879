/**
 * Larger pipes between volsnap and its zstd child. A Linux pipe holds 64 KiB:
 * zstd then blocks whenever our thread is busy for more than ~60 µs, so the
 * two take turns instead of running side by side. With 1 MiB each side can
 * run ahead; measured on a 1 GiB restore: 3.45 s → 3.1 s.
 *
 * Deno does not expose a child's pipe fds, so the fd is found by matching
 * /proc/<child>/fd/N against our own /proc/self/fd, and F_SETPIPE_SZ is set
 * through libc. Best effort: without libc, FFI permission or /proc, nothing
 * changes but speed.
 */
import { libc } from "../fs/libc.ts";

const F_SETPIPE_SZ = 1031;
/** The unprivileged ceiling (/proc/sys/fs/pipe-max-size defaults to 1 MiB). */
export const PIPE_BYTES = 1 << 20;

/**
 * Our own fd for the pipe behind fd `childFd` (0 = stdin, 1 = stdout) of
 * child `pid`, or null (no such pipe, or /proc unavailable).
 */
export function ownFdOfChildPipe(pid: number, childFd: 0 | 1): number | null {
  try {
    const target = Deno.readLinkSync(`/proc/${pid}/fd/${childFd}`);
    if (!target.startsWith("pipe:")) return null;
    for (const e of Deno.readDirSync("/proc/self/fd")) {
      let link: string;
      try {
        link = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
      } catch {
        continue; // closed meanwhile
      }
      if (link === target) return Number(e.name);
    }
  } catch { /* child gone or /proc unavailable */ }
  return null;
}

/**
 * Grows the pipe behind fd `childFd` (0 = stdin, 1 = stdout) of child `pid`.
 * Returns whether it did.
 */
export function growChildPipe(pid: number, childFd: 0 | 1, bytes = PIPE_BYTES): boolean {
  const fd = ownFdOfChildPipe(pid, childFd);
  return fd !== null && growPipe(fd, bytes);
}

/** Sets the capacity of the pipe open at our `fd`. */
export function growPipe(fd: number, bytes = PIPE_BYTES): boolean {
  const set = libc()?.fcntl;
  return !!set && set(fd, F_SETPIPE_SZ, bytes) >= bytes;
}
