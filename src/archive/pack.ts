/**
 * Walks one volume directory and writes it as tar entries under
 * `volumes/<index>/`, depth-first (a directory's entry, then its contents), so
 * GNU tar restores directory mtimes correctly.
 *
 * Every lookup goes through an open directory fd (`/proc/self/fd/<fd>/<name>`),
 * directories are opened with O_NOFOLLOW and files are checked by dev+ino
 * before reading: a container that swaps a directory or file for a symlink
 * while we read (quiesce=none) cannot make us read anything outside the
 * volume. Symlinks are stored, never followed.
 */
import fs from "node:fs";
import type { TarSink } from "./pack_sink.ts";
import {
  BLOCK,
  encodeHeader,
  encodeHeaderInto,
  MAX_FAST_HEADER,
  padding,
  type TarEntryHeader,
} from "./tar_write_header.ts";

const C = fs.constants;
const O_DIR = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
/** Files up to this size are read with one call straight into the batch. */
const SMALL_FILE = 1 << 20;

export interface PackStats {
  /** Entries of all types written. */
  fileCount: number;
  /** Sockets, fifos and devices: not archived. */
  skippedSpecial: number;
}

export interface PackVolumeOptions {
  index: number;
  hostPath: string;
  sink: TarSink;
  stats: PackStats;
  warn: (message: string) => void;
  signal?: AbortSignal;
}

export interface RootInfo {
  uid: number;
  gid: number;
  mode: number;
  mtimeMs: number;
}

/** Opens the volume root (must be a real directory) and reads its owner and mode. */
export function openVolumeRoot(hostPath: string): { fd: number; root: RootInfo } {
  const fd = fs.openSync(hostPath, O_DIR);
  const st = fs.fstatSync(fd);
  return {
    fd,
    root: { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs) },
  };
}

/** Writes `volumes/<index>/` and everything below it. Takes ownership of `rootFd`. */
export async function packVolume(
  opts: PackVolumeOptions,
  rootFd: number,
  root: RootInfo,
): Promise<void> {
  const prefix = `volumes/${opts.index}/`;
  const walker = new Walker(opts);
  try {
    await walker.entry({ path: prefix, type: "dir", size: 0, ...root });
    await walker.dir(rootFd, prefix, opts.hostPath);
  } finally {
    fs.closeSync(rootFd);
  }
}

type Stat = Deno.FileInfo;

class Walker {
  #o: PackVolumeOptions;
  /** dev:ino of files with nlink > 1 → their archive path (first occurrence). */
  #links = new Map<string, string>();

  constructor(o: PackVolumeOptions) {
    this.#o = o;
  }

  async entry(h: TarEntryHeader): Promise<void> {
    const sink = this.#o.sink;
    this.#o.stats.fileCount++;
    if (sink.room < MAX_FAST_HEADER) await sink.flush();
    const n = encodeHeaderInto(h, sink.buf, sink.pos);
    if (n > 0) await sink.commit(n);
    else await sink.put(encodeHeader(h));
  }

  /** Children of the directory open at `fd`; `arch` is its archive path ("…/"). */
  async dir(fd: number, arch: string, shown: string): Promise<void> {
    const base = `/proc/self/fd/${fd}`;
    let names: string[];
    try {
      names = [];
      for (const e of Deno.readDirSync(base)) names.push(e.name);
    } catch (err) {
      this.#o.warn(`cannot list directory ${shown}: ${msg(err)}; stored empty`);
      return;
    }
    names.sort();
    for (const name of names) {
      this.#o.signal?.throwIfAborted();
      const p = `${base}/${name}`;
      const label = `${shown}/${name}`;
      let st: Stat;
      try {
        st = Deno.lstatSync(p);
      } catch (err) {
        this.#o.warn(
          err instanceof Deno.errors.NotFound
            ? `file vanished while reading: ${label}`
            : `cannot stat ${label}: ${msg(err)}; skipped`,
        );
        continue;
      }
      const common = {
        mode: st.mode! & 0o7777,
        uid: st.uid!,
        gid: st.gid!,
        mtimeMs: st.mtime!.getTime(),
        size: 0,
      };
      if (st.isFile) {
        await this.file(p, arch + name, label, st, common);
      } else if (st.isDirectory) {
        await this.subdir(p, arch + name + "/", label, st, common);
      } else if (st.isSymlink) {
        let target: string;
        try {
          target = Deno.readLinkSync(p);
        } catch (err) {
          this.#o.warn(`cannot read symlink ${label}: ${msg(err)}; skipped`);
          continue;
        }
        await this.entry({ ...common, path: arch + name, type: "symlink", linkTarget: target });
      } else {
        this.#o.stats.skippedSpecial++;
      }
    }
  }

  async subdir(p: string, arch: string, label: string, st: Stat, common: Common) {
    let fd: number;
    try {
      fd = fs.openSync(p, O_DIR);
    } catch (err) {
      if (isCode(err, "ENOENT")) return this.#o.warn(`directory vanished while reading: ${label}`);
      if (isCode(err, "ELOOP") || isCode(err, "ENOTDIR")) {
        return this.#o.warn(`directory replaced while reading: ${label}; skipped`);
      }
      // Unreadable: keep the directory itself so owner and mode survive.
      await this.entry({ ...common, path: arch, type: "dir" });
      return this.#o.warn(`cannot open directory ${label}: ${msg(err)}; stored empty`);
    }
    try {
      if (fs.fstatSync(fd).ino !== st.ino) {
        return this.#o.warn(`directory replaced while reading: ${label}; skipped`);
      }
      await this.entry({ ...common, path: arch, type: "dir" });
      await this.dir(fd, arch, label);
    } finally {
      fs.closeSync(fd);
    }
  }

  async file(p: string, arch: string, label: string, st: Stat, common: Common) {
    const linkKey = st.nlink! > 1 ? `${st.dev}:${st.ino}` : undefined;
    const first = linkKey && this.#links.get(linkKey);
    if (first) {
      return await this.entry({ ...common, path: arch, type: "link", linkTarget: first });
    }
    // Deno.openSync (not node:fs with O_NOFOLLOW): node's fstat costs ~12 µs
    // per call here, twice per file. Opening follows a symlink swapped in
    // after lstat, so dev+ino are compared before a single byte is read.
    let f: Deno.FsFile;
    try {
      f = Deno.openSync(p);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        return this.#o.warn(`file vanished while reading: ${label}`);
      }
      return this.#o.warn(`cannot read ${label}: ${msg(err)}; skipped`);
    }
    try {
      const before = f.statSync();
      if (!before.isFile || before.ino !== st.ino || before.dev !== st.dev) {
        return this.#o.warn(`file replaced while reading: ${label}; skipped`);
      }
      const size = st.size;
      const sink = this.#o.sink;
      // Changed between lstat and open: the header below still says what lstat saw.
      let changed = before.size !== size || before.mtime?.getTime() !== common.mtimeMs;
      let got: number;
      const small = size <= SMALL_FILE;
      if (small && sink.room < MAX_FAST_HEADER + size + BLOCK) await sink.flush();
      await this.entry({ ...common, path: arch, type: "file", size });
      // A long PAX header may have taken the room.
      if (small && sink.room >= size + BLOCK) {
        // Data and padding land in the batch in place; reading one byte more
        // than expected notices a file that grew.
        got = this.#readSmall(f, size, label);
        if (got > size) {
          changed = true;
          got = size;
        }
        const buf = sink.buf;
        const end = sink.pos + size + padding(size);
        if (got < size) {
          this.#o.warn(`file shrank while reading: ${label} (${got} of ${size} bytes; rest zero)`);
        }
        buf.fill(0, sink.pos + got, end);
        await sink.commit(end - sink.pos);
      } else {
        got = await this.#copy(f, size, label);
        if (got < size) {
          this.#o.warn(`file shrank while reading: ${label} (${got} of ${size} bytes; rest zero)`);
          await sink.zeros(size - got);
        }
        await sink.zeros(padding(size));
      }
      const after = f.statSync();
      if (
        got === size &&
        (changed || after.size !== size || after.mtime?.getTime() !== common.mtimeMs)
      ) {
        this.#o.warn(`file changed while reading: ${label}`);
      }
      if (linkKey) this.#links.set(linkKey, arch);
    } finally {
      f.close();
    }
  }

  /**
   * Reads up to `size + 1` bytes to the sink's current position, which has
   * room for them; returns bytes read. A short read of a regular file is its
   * end, so an unchanged file costs one read call.
   */
  #readSmall(f: Deno.FsFile, size: number, label: string): number {
    const sink = this.#o.sink;
    const buf = sink.buf;
    const start = sink.pos;
    let done = 0;
    while (done <= size) {
      const want = size + 1 - done;
      let n: number | null;
      try {
        n = f.readSync(buf.subarray(start + done, start + size + 1));
      } catch (err) {
        this.#o.warn(`read error in ${label}: ${msg(err)}`);
        return Math.min(done, size);
      }
      if (!n) break;
      done += n;
      if (n < want) break;
    }
    return done;
  }

  /** Reads up to `size` bytes straight into the sink's batches; returns bytes read. */
  async #copy(f: Deno.FsFile, size: number, label: string): Promise<number> {
    const sink = this.#o.sink;
    let done = 0;
    while (done < size) {
      const space = sink.freeSpace();
      const want = Math.min(space.length, size - done);
      let n: number | null;
      try {
        n = f.readSync(want === space.length ? space : space.subarray(0, want));
      } catch (err) {
        this.#o.warn(`read error in ${label}: ${msg(err)}`);
        return done;
      }
      if (!n) return done;
      done += n;
      await sink.advance(n);
    }
    return done;
  }
}

type Common = Omit<TarEntryHeader, "path" | "type">;

function isCode(err: unknown, code: string): boolean {
  return (err as { code?: string })?.code === code;
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
