/**
 * Reading a volume while its app still runs, for a pre-copy (SPEC §15): the
 * capture reads the volumes once before the quiesce, then, with the app
 * stopped, reads again only what changed since, so the app is down for the
 * walk and the late changes instead of for all the data.
 *
 * That second pass takes a file as unchanged when its device, inode, size,
 * mtime and ctime are the same. While the app runs, four things could make
 * that wrong; each is closed here:
 *  - a page written through a shared mapping stays writable until it is
 *    written back, and further writes to it change no time stamp. Writing the
 *    file's dirty pages back before reading it write-protects them, so the
 *    next write faults and sets ctime (`writeBackDirtyPages`).
 *  - time stamps come from a coarse clock: a write in the same tick as the
 *    stat leaves ctime as it was. A file changed shortly before the pre-copy
 *    started is not trusted (`changedTooRecently`).
 *  - a write() sets mtime and ctime when it starts, then copies its data in
 *    page by page (for as long as it takes: dirty-page throttling, a source
 *    buffer that faults from slow storage). A read meanwhile is torn, and the
 *    file's identity is already what it will be once the write ends. The
 *    wait for writers in progress before the stat (`waitForWriters`)
 *    closes that for buffered writes: ext4 and Btrfs take the inode's lock
 *    for SEEK_DATA, which a buffered write holds exclusively from before it
 *    sets the time stamps until its last byte is in; XFS's reads take it
 *    themselves.
 *  - an O_DIRECT write holds that lock only shared (or not at all once
 *    queued): files open for direct I/O are not trusted (`openForDirectIo`).
 * Only on file systems whose write faults set ctime (ext2/3/4, XFS, Btrfs):
 * tmpfs, for one, never does, and a network file system's clock is not ours.
 */
import { lastError, libc } from "../fs/libc.ts";

const SUPPORTED: Record<number, string> = {
  0xef53: "ext4",
  0x58465342: "xfs",
  0x9123683e: "btrfs",
};

/** Files up to this size are written back on the calling thread (a few pages at most). */
const INLINE_WRITEBACK = 1 << 20;
/** SYNC_FILE_RANGE_WAIT_BEFORE | WRITE | WAIT_AFTER: every dirty page, no journal commit. */
const WRITE_AND_WAIT = 7;
const SEEK_SET = 0;
const SEEK_DATA = 3;

/** Why a volume cannot be pre-copied (undefined: it can). */
export function liveCopyUnsupported(rootFd: number): string | undefined {
  const lib = libc();
  if (!lib) return "the libc calls a pre-copy needs are unavailable";
  // struct statfs: f_type is the first field, a long, on every 64-bit Linux.
  const buf = new Uint8Array(128);
  if (lib.fstatfs(rootFd, buf) !== 0) return `fstatfs: ${lastError(lib, "fstatfs").message}`;
  const type = Number(new DataView(buf.buffer).getBigInt64(0, true));
  if (SUPPORTED[type]) return undefined;
  return `the volume's file system (type 0x${type.toString(16)}) may not record writes made ` +
    "through memory mappings in ctime";
}

/**
 * Returns once a write() to the open file that was in progress has ended (see
 * above): the app still runs. Leaves the file offset at 0.
 */
export async function waitForWriters(fd: number, size: number): Promise<void> {
  const lib = libc();
  if (!lib) throw new Error("libc unavailable");
  // The result does not matter (ENXIO: no data), only that the inode's lock was taken.
  if (size <= INLINE_WRITEBACK) lib.lseek(fd, 0n, SEEK_DATA);
  else await lib.lseek_async(fd, 0n, SEEK_DATA);
  if (Number(lib.lseek(fd, 0n, SEEK_SET)) !== 0) throw lastError(lib, "lseek");
}

/**
 * Writes back the open file's dirty pages (and waits), so a later write
 * through a mapping faults: before a pre-copy reads a file, and before a
 * paused app's file is read (it keeps its mappings: once it runs again, a
 * page it dirtied before would take writes that set no time stamp, and the
 * next capture would take the file as unchanged).
 */
export async function writeBackDirtyPages(fd: number, size: number): Promise<void> {
  const lib = libc();
  if (!lib) throw new Error("libc unavailable");
  if (size <= INLINE_WRITEBACK) {
    if (lib.sync_file_range(fd, 0n, 0n, WRITE_AND_WAIT) !== 0) {
      throw lastError(lib, "sync_file_range");
    }
    return;
  }
  // On a pool thread: errno is not readable from here.
  if (await lib.sync_file_range_async(fd, 0n, 0n, WRITE_AND_WAIT) !== 0) {
    throw new Error("sync_file_range failed");
  }
}

/**
 * Whether a file's ctime is too close to (or after) the pre-copy's start for
 * an unchanged ctime to mean an unchanged file. The kernel's file clock lags
 * the wall clock by at most a tick (≤ 10 ms); file systems that keep whole
 * seconds (no sub-second part) get 2 s.
 */
export function changedTooRecently(ctimeMs: number, startedMs: number): boolean {
  const margin = ctimeMs % 1000 === 0 ? 2000 : 50;
  return !(ctimeMs < startedMs - margin);
}

/** O_DIRECT as fdinfo's octal `flags` show it (the generic value; ARM's differ). */
const O_DIRECT = Deno.build.arch === "aarch64" ? 0o200000 : 0o40000;

/**
 * Files some process has open for direct I/O, as `dev:ino`. An O_DIRECT
 * write sets the time stamps before its data reaches the file and holds the
 * inode's lock only shared (an asynchronous one not at all once queued), so
 * waiting for writers does not cover it: a pre-copy's read of such a file
 * may be torn though its identity is final. Such files are left out of the
 * pre-copy (the pass with the app stopped reads them). One that is opened
 * for direct I/O after the scan can only be written after the pre-copy
 * started, which `changedTooRecently` catches. Every process is scanned:
 * container processes are host processes, and their paths are their own.
 */
export function openForDirectIo(): Set<string> {
  const found = new Set<string>();
  let pids: Deno.DirEntry[];
  try {
    pids = [...Deno.readDirSync("/proc")];
  } catch {
    return found;
  }
  for (const p of pids) {
    if (!/^\d+$/.test(p.name) || p.name === String(Deno.pid)) continue;
    let fds: Deno.DirEntry[];
    try {
      fds = [...Deno.readDirSync(`/proc/${p.name}/fdinfo`)];
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        const info = Deno.readTextFileSync(`/proc/${p.name}/fdinfo/${fd.name}`);
        const flags = /^flags:\s+([0-7]+)/m.exec(info);
        if (!flags || (parseInt(flags[1], 8) & O_DIRECT) === 0) continue;
        const st = Deno.statSync(`/proc/${p.name}/fd/${fd.name}`);
        if (st.isFile) found.add(`${st.dev}:${st.ino}`);
      } catch { /* closed meanwhile */ }
    }
  }
  return found;
}
