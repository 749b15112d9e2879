/**
 * Walks one volume directory and writes it as tar entries under
 * `volumes/<index>/`, depth-first (a directory's entry, then its contents), so
 * GNU tar restores directory mtimes correctly.
 *
 * Every lookup is relative to an open directory fd (volume_fs.ts), everything
 * is opened with O_NOFOLLOW and checked by dev+ino before reading: a
 * container that swaps a directory or file for a symlink while we read
 * (quiesce=none) cannot make us read anything outside the volume. Symlinks
 * are stored, never followed.
 *
 * Fidelity (SPEC §3): names come raw from the libc walker and are stored as
 * their bytes; fifos are stored (type 6), sockets and devices skipped and
 * counted; the extended attributes volume_fs.ts keeps go with each entry;
 * a file with fewer blocks than its size is asked for its holes and, when it
 * has some, stored as GNU sparse PAX 1.0 (map, then only the data segments).
 */
import { AppError, errMessage } from "../core/errors.ts";
import { copyFile, readSmall } from "./file_data.ts";
import type { TarSink } from "./pack_sink.ts";
import {
  BLOCK,
  encodeHeader,
  encodeHeaderInto,
  MAX_FAST_HEADER,
  padding,
  sparseMapBlock,
  type TarEntryHeader,
} from "../tar/write_header.ts";
import { type EntryStat, inodeKey, sameInode, type VolumeFs, volumeFs } from "./volume_fs.ts";
import { type ArchiveLimits, checkWriterLimits } from "../tar/limits.ts";
import { digestEntryOf, type LaterSha } from "../drill/content_digest.ts";
import type { RootInfo } from "./volume_root.ts";
import { waitForWriters, writeBackDirtyPages } from "./live_copy.ts";

/** Files up to this size are read with one call straight into the batch. */
const SMALL_FILE = 1 << 20;

export interface PackStats {
  /** Entries of all types written. */
  fileCount: number;
  /** Sockets and devices: not archived. */
  skippedSpecial: number;
}

export interface PackVolumeOptions {
  index: number;
  hostPath: string;
  sink: TarSink;
  stats: PackStats;
  warn: (message: string) => void;
  signal?: AbortSignal;
  /** The reader's limits (one table for both sides). */
  limits: ArchiveLimits;
  /** The file system calls to walk with; tests inject failures here. */
  vfs?: VolumeFs;
  /** The app still runs or is paused: write each file's dirty pages back before reading it. */
  writeBackFirst?: boolean;
  /** The app still runs (a pre-copy): wait for a write() in progress before reading a file. */
  waitForWriters?: boolean;
}

/** Writes `volumes/<index>/` and everything below it. Takes ownership of `rootFd`. */
export async function packVolume(
  opts: PackVolumeOptions,
  rootFd: number,
  root: RootInfo,
): Promise<void> {
  const prefix = `volumes/${opts.index}/`;
  const vfs = opts.vfs ?? volumeFs();
  const walker = new Walker(opts, vfs);
  try {
    const xattrs = vfs.xattrs(rootFd, vfs.fstat(rootFd).dev);
    opts.sink.digest?.volume(opts.index);
    await walker.entry({ path: prefix, type: "dir", size: 0, ...root, xattrs });
    await walker.dir(rootFd, prefix, opts.hostPath, true);
  } finally {
    try {
      vfs.close(rootFd);
    } catch { /* already closed */ }
  }
}

class Walker {
  #o: PackVolumeOptions;
  #fs: VolumeFs;
  /** dev:ino of files with nlink > 1 → their archive path (first occurrence). */
  #links = new Map<string, string>();

  #prefixLength: number;

  constructor(o: PackVolumeOptions, vfs: VolumeFs) {
    this.#o = o;
    this.#fs = vfs;
    this.#prefixLength = `volumes/${o.index}/`.length;
  }

  async entry(h: TarEntryHeader): Promise<void> {
    const sink = this.#o.sink;
    this.#o.stats.fileCount++;
    sink.frames?.entry(sink.bytes, h.path, h.size);
    if (sink.room < MAX_FAST_HEADER) await sink.flush();
    const n = encodeHeaderInto(h, sink.buf, sink.pos);
    const header = n > 0 ? undefined : encodeHeader(h);
    checkWriterLimits(this.#o.limits, h, n || header!.length, this.#o.stats.fileCount, sink.bytes);
    if (header) await sink.put(header);
    else await sink.commit(n);
    sink.digest?.entry(
      digestEntryOf(h, this.#o.index, this.#prefixLength),
      h.type === "file" && this.#linkable,
    );
  }

  /** Whether the file being written has other links (a later hard link may name it). */
  #linkable = false;

  /** Children of the directory open at `fd`; `arch` is its archive path ("…/"). */
  async dir(fd: number, arch: string, shown: string, isRoot = false): Promise<void> {
    let names: string[];
    try {
      names = this.#fs.list(fd);
    } catch (err) {
      // An empty volume that "succeeded" would wipe the data when restored.
      if (isRoot) {
        throw new AppError(
          "internal",
          `cannot list volume directory ${shown}: ${errMessage(err)}`,
          {
            cause: err,
            hint: "volsnap needs read access to the volume and to /proc/self/fd (run it with -A)",
          },
        );
      }
      this.#o.warn(`cannot list directory ${shown}: ${errMessage(err)}; stored empty`);
      return;
    }
    names.sort();
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      this.#o.signal?.throwIfAborted();
      const label = `${shown}/${name}`;
      // Names that are not UTF-8 arrive with U+FFFD in them; one that now
      // equals its neighbour would be a duplicate entry, which no extractor
      // accepts. The first is the file that really has this name, if any.
      if (i > 0 && name === names[i - 1]) {
        this.#o.warn(`name is not valid UTF-8, which volsnap cannot archive: ${label}; skipped`);
        continue;
      }
      let st: EntryStat;
      try {
        st = this.#fs.lstatAt(fd, name);
      } catch (err) {
        this.#o.warn(
          !isCode(err, "ENOENT")
            ? `cannot stat ${label}: ${errMessage(err)}; skipped`
            : name.includes("\uFFFD")
            ? `name is not valid UTF-8, which volsnap cannot archive: ${label}; skipped`
            : `file vanished while reading: ${label}`,
        );
        continue;
      }
      const common = {
        mode: st.mode,
        uid: st.uid,
        gid: st.gid,
        mtimeMs: st.mtimeMs,
        size: 0,
      };
      if (st.kind === "file") {
        await this.file({ parent: fd, name, arch: arch + name, label, st, common });
      } else if (st.kind === "dir") {
        await this.subdir({ parent: fd, name, arch: arch + name + "/", label, st, common });
      } else if (st.kind === "symlink") {
        let target: string;
        try {
          target = this.#fs.readLinkAt(fd, name);
        } catch (err) {
          this.#o.warn(`cannot read symlink ${label}: ${errMessage(err)}; skipped`);
          continue;
        }
        const xattrs = this.#pathXattrs(fd, name, st, label);
        await this.entry({
          ...common,
          path: arch + name,
          type: "symlink",
          linkTarget: target,
          xattrs,
        });
      } else if (st.kind === "fifo") {
        const xattrs = this.#pathXattrs(fd, name, st, label);
        await this.entry({ ...common, path: arch + name, type: "fifo", xattrs });
      } else {
        this.#o.stats.skippedSpecial++;
      }
    }
  }

  async subdir({ parent, name, arch, label, st, common }: Child) {
    let fd: number;
    try {
      fd = this.#fs.openDirAt(parent, name);
    } catch (err) {
      if (isCode(err, "ENOENT")) return this.#o.warn(`directory vanished while reading: ${label}`);
      if (isCode(err, "ELOOP") || isCode(err, "ENOTDIR")) {
        return this.#o.warn(`directory replaced while reading: ${label}; skipped`);
      }
      // Unreadable: keep the directory itself so owner and mode survive.
      await this.entry({ ...common, path: arch, type: "dir" });
      return this.#o.warn(`cannot open directory ${label}: ${errMessage(err)}; stored empty`);
    }
    try {
      if (!sameInode(this.#fs.fstat(fd), st)) {
        return this.#o.warn(`directory replaced while reading: ${label}; skipped`);
      }
      const xattrs = this.#fdXattrs(fd, st, label);
      await this.entry({ ...common, path: arch, type: "dir", xattrs });
      await this.dir(fd, arch, label);
    } finally {
      this.#fs.close(fd);
    }
  }

  async file({ parent, name, arch, label, st, common }: Child) {
    const linkKey = st.nlink > 1 ? inodeKey(st) : undefined;
    this.#linkable = !!linkKey;
    if (await this.#virtual(arch, st, common)) return;
    const first = linkKey && this.#links.get(linkKey);
    if (first) {
      return await this.entry({ ...common, path: arch, type: "hardlink", linkTarget: first });
    }
    // O_NOFOLLOW: a symlink swapped in after lstat is refused, and dev+ino
    // are compared before a single byte is read (another file swapped in).
    let fd: number;
    try {
      fd = this.#fs.openFileAt(parent, name);
    } catch (err) {
      if (isCode(err, "ENOENT")) return this.#o.warn(`file vanished while reading: ${label}`);
      if (isCode(err, "ELOOP")) {
        return this.#o.warn(`file replaced while reading: ${label}; skipped`);
      }
      return this.#o.warn(`cannot read ${label}: ${errMessage(err)}; skipped`);
    }
    try {
      // Before the stat that identifies it: see live_copy.ts.
      if (this.#o.waitForWriters) await waitForWriters(fd, st.size);
      if (this.#o.writeBackFirst) await writeBackDirtyPages(fd, st.size);
      const before = this.#fs.fstat(fd);
      if (before.kind !== "file" || !sameInode(before, st)) {
        return this.#o.warn(`file replaced while reading: ${label}; skipped`);
      }
      const size = st.size;
      const sink = this.#o.sink;
      // Changed between lstat and open: the header below still says what lstat saw.
      let changed = before.size !== size || before.mtimeMs !== common.mtimeMs;
      let got: number;
      const xattrs = this.#fdXattrs(fd, st, label);
      // Fewer blocks than bytes: maybe holes (no extra call for any other file).
      const map = st.blocks * 512 < size ? this.#fs.dataMap(fd, size) : null;
      // Large, not sparse: its data is cut into chunk frames (src/frames) when framed.
      let large = false;
      let hashedLater: LaterSha | undefined;
      if (map) {
        got = await this.#sparse(
          fd,
          { ...common, path: arch, type: "file", size, xattrs },
          map,
          label,
        );
        changed ||= got !== size;
      } else {
        const small = size <= SMALL_FILE;
        if (small && sink.room < MAX_FAST_HEADER + size + BLOCK) await sink.flush();
        await this.entry({ ...common, path: arch, type: "file", size, xattrs });
        // Hashed by a frame worker (full framed captures), or here.
        if (small) {
          hashedLater = sink.frames?.smallData(
            sink.bytes,
            arch,
            before,
            size + padding(size),
            size,
          );
        }
        // A long PAX header may have taken the room.
        if (small && sink.room >= size + BLOCK) {
          // Data and padding land in the batch in place; reading one byte more
          // than expected notices a file that grew.
          got = readSmall(this.#fs, this.#o.sink, fd, size, this.#warnRead(label));
          if (got > size) {
            changed = true;
            got = size;
          }
          const buf = sink.buf;
          const end = sink.pos + size + padding(size);
          if (got < size) {
            this.#o.warn(
              `file shrank while reading: ${label} (${got} of ${size} bytes; rest zero)`,
            );
          }
          buf.fill(0, sink.pos + got, end);
          if (!hashedLater) sink.digest?.data(buf.subarray(sink.pos, sink.pos + size));
          await sink.commit(end - sink.pos);
        } else {
          const length = size + padding(size);
          large = !small;
          const known = large && !changed
            ? sink.frames?.largeData(sink.bytes, arch, before, length, sink.digest?.currentChunks())
            : undefined;
          if (known) {
            // Unchanged since the parent snapshot: its frames are referenced, not read.
            sink.digest?.endFileKnown(known);
            await sink.reference(length);
            if (linkKey) this.#links.set(linkKey, arch);
            return;
          }
          got = await sink.spliceFile(fd, size);
          if (got < size) {
            got += await copyFile(this.#fs, this.#o.sink, fd, size - got, this.#warnRead(label));
          }
          if (got < size) {
            this.#o.warn(
              `file shrank while reading: ${label} (${got} of ${size} bytes; rest zero)`,
            );
            sink.digest?.zeros(size - got);
            await sink.zeros(size - got);
          }
          await sink.zeros(padding(size));
        }
      }
      let contentSha: string | LaterSha | undefined = hashedLater;
      if (hashedLater) sink.digest?.endFileLater(hashedLater);
      else contentSha = sink.digest?.endFile();
      const after = this.#fs.fstat(fd);
      const altered = changed || after.size !== size || after.mtimeMs !== common.mtimeMs;
      if (got === size && altered) this.#o.warn(`file changed while reading: ${label}`);
      const whole = got === size && !altered ? contentSha : undefined;
      if (large) sink.frames?.largeDataEnd(typeof whole === "string" ? whole : undefined);
      else if (!map) sink.frames?.smallDataEnd(whole, st.nlink === 1 && !xattrs?.length);
      if (linkKey) this.#links.set(linkKey, arch);
    } finally {
      this.#fs.close(fd);
    }
  }

  /**
   * An unchanged small file of the parent snapshot (incremental capture):
   * its header from lstat, its data where the frame store already has it.
   * Never opened, so never read while the app is down.
   */
  async #virtual(arch: string, st: EntryStat, common: Common): Promise<boolean> {
    const sink = this.#o.sink;
    // A parent record exists only for a file read whole, not sparse, without xattrs.
    const plain = st.nlink === 1 && st.size <= SMALL_FILE;
    const src = plain ? sink.frames?.unchangedSmall(arch, st) : undefined;
    if (!src) return false;
    await this.entry({ ...common, path: arch, type: "file", size: st.size, xattrs: null });
    sink.digest?.endFileKnown(src.sha256);
    await sink.virtual(st.size + padding(st.size), src, arch, st);
    return true;
  }

  /**
   * A file with holes as GNU sparse 1.0: the map, then each data segment
   * (read from its offset). Returns the data bytes read; a segment that
   * came up short is padded with zeros, as the header promised.
   */
  async #sparse(fd: number, h: TarEntryHeader, map: number[], label: string): Promise<number> {
    const sink = this.#o.sink;
    const block = sparseMapBlock(map);
    let data = 0;
    for (let i = 1; i < map.length; i += 2) data += map[i];
    await this.entry({ ...h, size: block.length + data, sparse: { realSize: h.size, map } });
    await sink.put(block);
    let got = 0;
    for (let i = 0; i < map.length; i += 2) {
      const want = map[i + 1];
      if (want === 0) continue;
      this.#fs.seek(fd, map[i]);
      const n = await copyFile(this.#fs, this.#o.sink, fd, want, this.#warnRead(label));
      got += n;
      if (n < want) {
        this.#o.warn(`file shrank while reading: ${label} (data at ${map[i]} short; rest zero)`);
        sink.digest?.zeros(want - n);
        await sink.zeros(want - n);
      }
    }
    await sink.zeros(padding(block.length + data));
    return got === data ? h.size : got;
  }

  /** How a read error in `label` is reported (the file is stored short, zero-filled). */
  #warnRead(label: string) {
    return (err: unknown) => this.#o.warn(`read error in ${label}: ${errMessage(err)}`);
  }

  /** Kept xattrs of an open file or dir; a failure is a warning, not a lost entry. */
  #fdXattrs(fd: number, st: EntryStat, label: string) {
    try {
      return this.#fs.xattrs(fd, st.dev);
    } catch (err) {
      this.#o.warn(`cannot read extended attributes of ${label}: ${errMessage(err)}`);
      return null;
    }
  }

  /** Kept xattrs of a symlink or fifo (`name` in the dir open at `dirFd`). */
  #pathXattrs(dirFd: number, name: string, st: EntryStat, label: string) {
    try {
      return this.#fs.xattrs(-1, st.dev, dirFd, name);
    } catch (err) {
      this.#o.warn(`cannot read extended attributes of ${label}: ${errMessage(err)}`);
      return null;
    }
  }
}

type Common = Omit<TarEntryHeader, "path" | "type">;

/** A directory entry to archive: where it is, what lstat saw, its archive path. */
interface Child {
  /** The open directory that holds it. */
  parent: number;
  name: string;
  /** Archive path (a directory's ends in "/"). */
  arch: string;
  /** Host path, for warnings. */
  label: string;
  st: EntryStat;
  common: Common;
}

function isCode(err: unknown, code: string): boolean {
  return (err as { code?: string })?.code === code;
}
