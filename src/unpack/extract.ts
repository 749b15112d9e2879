/**
 * Untrusted-archive extractor: stages each volume of an archive into a fresh
 * directory. Everything the archive says is validated by ArchiveWalker (on
 * the archive worker, see walk_worker.ts) before it reaches this thread; this
 * module only writes inside the staging dirs it created, and removes them all
 * again if anything fails.
 *
 * Why writes cannot escape: a staging dir is created fresh (mkdir fails if it
 * exists); entries are unique and every parent of an entry is a directory we
 * created ourselves (the walker tracks kinds), so no path component can be a
 * symlink; files are created with O_EXCL|O_NOFOLLOW; symlinks are created as
 * links and never followed; metadata calls use the l* variants.
 *
 * setuid/setgid policy: for an archive from outside (`keepPrivileges`
 * false, the default) those bits and `security.capability` are stripped from
 * files and fifos (with a warning in the stats), because a restored volume
 * is mounted into containers that may run untrusted code. volsnap's own
 * snapshots keep them (the restore path knows the snapshot's origin).
 * Directory setgid and sticky bits are always kept.
 *
 * Fidelity (SPEC §3): names that are not UTF-8 are created with their raw
 * bytes (byte_paths.ts), fifos with mkfifo, extended attributes and ACLs
 * after chown and chmod (chown clears security.capability; an ACL sets the
 * group bits from its mask), sparse files as holes (ftruncate + writes at
 * the segments' offsets).
 */
import fs from "node:fs";
import { join } from "node:path";
import { AppError } from "../core/errors.ts";
import { syncFs } from "../fs/durable.ts";
import type { ArchiveStats, Manifest, ManifestVolume } from "../core/model.ts";
import type { ArchiveLimits } from "../tar/limits.ts";
import type { VolumeEntry } from "./reader.ts";
import { progressThrottle } from "./read_progress.ts";
import { OffThreadWalk, type RawSource, walkStats } from "./walk_thread.ts";
import { type BatchVisitor, decodeBatch } from "./batch_codec.ts";
import {
  chmodAny,
  lchownAny,
  linkAny,
  lutimesAny,
  mkdirAny,
  mkfifoAny,
  openAny,
  setXattr,
  symlinkAny,
  type WriteHandle,
} from "../fs/byte_paths.ts";
import { printable } from "../fs/raw_names.ts";

export interface ExtractOptions {
  /**
   * The stored archive file. Preferred over `source`: the archive worker
   * (and zstd) read it directly, so no raw bytes pass through this thread.
   */
  sourcePath?: string;
  /** Raw stored bytes (compressed), e.g. an upload; used when `sourcePath` is not given. */
  source?: ReadableStream<Uint8Array>;
  /**
   * Hex sha256 of the raw bytes; a mismatch fails with integrity_error at the
   * end. Without it a `sourcePath` is not hashed (stats.sha256 is ""): for a
   * file the caller verified already; zstd's frame checksum still covers it.
   */
  expectedSha256?: string;
  /**
   * The manifest the caller planned with (a restore's pre-flight): the
   * archive's own must be the same, checked before anything is written, so
   * an archive swapped between plan and staging cannot redirect volumes.
   */
  expectManifest?: Manifest;
  /** Staging dir to create (must not exist; its parent must), or null to skip the volume. */
  targetDirFor: (index: number, vol: ManifestVolume) => string | null;
  limits: ArchiveLimits;
  /**
   * Keep setuid/setgid bits and security.capability: for volsnap's own
   * snapshots. Otherwise (imports) they are stripped with a warning.
   */
  keepPrivileges?: boolean;
  onProgress?: (expandedBytesDone: number) => void;
  signal?: AbortSignal;
}

const O_NEW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL |
  fs.constants.O_NOFOLLOW;
const SPECIAL_BITS = 0o6000;
const IS_ROOT = Deno.uid() === 0;

type Xattrs = VolumeEntry["xattrs"];

interface DirMeta {
  path: string;
  uid: number;
  gid: number;
  mode: number;
  mtimeMs: number;
  xattrs?: Xattrs;
}

interface OpenFile {
  fd: WriteHandle;
  path: string;
  entry: VolumeEntry;
  mode: number;
  left: number;
  /** Sparse: the segment being written and the bytes of it done. */
  seg: number;
  segDone: number;
}

export async function extractArchive(
  opts: ExtractOptions,
): Promise<{ manifest: Manifest; stats: ArchiveStats }> {
  opts.signal?.throwIfAborted();
  const progress = progressThrottle(opts.onProgress);
  const walk = new OffThreadWalk(rawSource(opts), {
    limits: opts.limits,
    withData: true,
    onExpanded: progress.update,
    signal: opts.signal,
  });
  const created: string[] = [];
  let manifest: Manifest | undefined;
  let stager: Stager | undefined;
  try {
    for await (const m of walk.messages()) {
      opts.signal?.throwIfAborted();
      if (m.type === "manifest") {
        manifest = m.manifest;
        if (opts.expectManifest && !sameJson(opts.expectManifest, manifest)) {
          throw new AppError(
            "integrity_error",
            "the archive's manifest changed since the pre-flight read it",
          );
        }
        stager = new Stager(
          manifest,
          opts.targetDirFor,
          created,
          currentUmask(),
          opts.keepPrivileges ?? false,
        );
      } else decodeBatch(m.events, m.data, stager!);
    }
    progress.flush();
    const { sha256 } = walk.result;
    if (opts.expectedSha256 !== undefined && sha256 !== opts.expectedSha256.toLowerCase()) {
      throw new AppError(
        "integrity_error",
        `archive sha256 is ${sha256}, expected ${opts.expectedSha256}: the stored file is damaged`,
      );
    }
    stager!.finishDirs();
    await syncStaged(created);
    return { manifest: manifest!, stats: walkStats(walk.result, stager!.warnings) };
  } catch (err) {
    stager?.abort();
    for (const dir of created) await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

function rawSource(opts: ExtractOptions): RawSource {
  if (opts.sourcePath !== undefined) {
    return { path: opts.sourcePath, hash: opts.expectedSha256 !== undefined };
  }
  if (opts.source) return { stream: opts.source };
  throw new AppError("internal", "extractArchive needs sourcePath or source");
}

/** Writes validated entries below the staging dirs. All fs calls are sync: they are fast (stack.md §2). */
class Stager implements BatchVisitor {
  readonly warnings: string[] = [];
  readonly #roots = new Map<number, string>();
  /** Owner a new file gets below each root (so fchown can be skipped when it matches). */
  readonly #owners = new Map<number, { uid: number; gid: number }>();
  readonly #dirs: DirMeta[] = [];
  readonly #umask: number;
  readonly #keep: boolean;
  /** The regular file whose data is being written. */
  #open?: OpenFile;

  constructor(
    manifest: Manifest,
    targetDirFor: ExtractOptions["targetDirFor"],
    created: string[],
    umask: number,
    keepPrivileges: boolean,
  ) {
    this.#umask = umask;
    this.#keep = keepPrivileges;
    for (const v of manifest.volumes) {
      const dir = targetDirFor(v.index, v);
      if (dir === null) continue;
      Deno.mkdirSync(dir, { mode: 0o700 }); // throws AlreadyExists: never reuse a dir
      created.push(dir);
      this.#roots.set(v.index, dir);
      // Files created below get our euid, and the root's gid: it is either our
      // egid, or (setgid parent) a gid that every dir we mkdir below inherits.
      const st = Deno.lstatSync(dir);
      this.#owners.set(v.index, { uid: st.uid!, gid: st.gid! });
      // The manifest's root; replaced by the archive's own root entry if present.
      this.#dirs.push({ path: dir, ...v.root, mtimeMs: NaN });
    }
  }

  /** Closes a file left open by a failed extraction (its dir is removed next). */
  abort() {
    const f = this.#open;
    this.#open = undefined;
    try {
      f?.fd.close();
    } catch { /* the error that led here is the one to report */ }
  }

  entry(e: VolumeEntry) {
    if (this.#open) {
      throw new AppError("internal", `archive worker skipped data of ${this.#open.path}`);
    }
    const root = this.#roots.get(e.index);
    if (root === undefined) return; // skipped volume: the worker sent no data for it
    if (e.rel === "") {
      const meta = this.#dirs.find((d) => d.path === root)!;
      Object.assign(meta, {
        uid: e.uid,
        gid: e.gid,
        mode: e.mode,
        mtimeMs: e.mtimeMs,
        xattrs: e.xattrs,
      });
      return;
    }
    for (const d of e.implicitDirs) mkdirAny(join(root, d), 0o755);
    const path = join(root, e.rel);
    switch (e.type) {
      case "dir":
        mkdirAny(path, 0o700);
        this.#dirs.push({
          path,
          uid: e.uid,
          gid: e.gid,
          mode: e.mode,
          mtimeMs: e.mtimeMs,
          xattrs: e.xattrs,
        });
        return;
      case "symlink":
        symlinkAny(e.link, path);
        if (IS_ROOT) lchownAny(path, e.uid, e.gid);
        this.#xattrs(path, e);
        lutimesAny(path, e.mtimeMs);
        return;
      case "hardlink":
        // linkat without AT_SYMLINK_FOLLOW; the target is a file we wrote.
        linkAny(join(root, e.link), path);
        return;
      case "fifo": {
        mkfifoAny(path, 0o600);
        if (IS_ROOT) lchownAny(path, e.uid, e.gid);
        chmodAny(path, this.#mode(e)); // no open: a fifo would block
        this.#xattrs(path, e);
        lutimesAny(path, e.mtimeMs);
        return;
      }
      case "file": {
        const mode = this.#mode(e);
        // Created with its permission bits: the staging dir (0700) hides it
        // meanwhile; setuid/setgid follow after chown, which would clear them.
        const fd = openAny(path, O_NEW, mode & 0o777);
        this.#open = { fd, path, entry: e, mode, left: e.size, seg: 0, segDone: 0 };
        if (e.size === 0) this.#closeFile();
        return;
      }
    }
  }

  /** The entry's mode, without setuid/setgid unless privileges are kept. */
  #mode(e: VolumeEntry): number {
    if (!(e.mode & SPECIAL_BITS) || this.#keep) return e.mode;
    this.warnings.push(`setuid/setgid bits removed from volumes/${e.index}/${printable(e.rel)}`);
    return e.mode & ~SPECIAL_BITS;
  }

  /** Sets the entry's extended attributes on `path` (created by us, in the staging dir). */
  #xattrs(path: string, e: { xattrs?: Xattrs }) {
    for (const x of e.xattrs ?? []) {
      if (x.name === "security.capability" && !this.#keep) {
        this.warnings.push(`security.capability removed from ${printable(path)}`);
        continue;
      }
      try {
        setXattr(path, x.name, x.value);
      } catch (err) {
        this.warnings.push(`cannot set ${x.name} on ${printable(path)}: ${(err as Error).message}`);
      }
    }
  }

  data(piece: Uint8Array) {
    const f = this.#open;
    if (!f) return; // data of a file in a skipped volume
    if (piece.length > f.left) {
      throw new AppError("internal", `archive worker sent too much data for ${f.path}`);
    }
    const map = f.entry.sparse?.map;
    let off = 0;
    if (!map) {
      while (off < piece.length) off += f.fd.write(piece, off, piece.length - off, null);
    } else {
      // The parser checked that the segments hold exactly the data bytes.
      while (off < piece.length) {
        while (map[2 * f.seg + 1] === f.segDone) {
          f.seg++;
          f.segDone = 0;
        }
        const n = Math.min(piece.length - off, map[2 * f.seg + 1] - f.segDone);
        const w = f.fd.write(piece, off, n, map[2 * f.seg] + f.segDone);
        off += w;
        f.segDone += w;
      }
    }
    f.left -= piece.length;
    if (f.left === 0) this.#closeFile();
  }

  /** fd-based metadata (no path lookup); each call only when the created file differs. */
  #closeFile() {
    const { fd, entry: e, mode, path } = this.#open!;
    try {
      // The holes: the length of the file, without writing them.
      if (e.sparse) fd.truncate(e.sparse.realSize);
      // chown clears setuid/setgid (and security.capability): both come after it.
      if (IS_ROOT) {
        const own = this.#owners.get(e.index)!;
        if (e.uid !== own.uid || e.gid !== own.gid) fd.chown(e.uid, e.gid);
      }
      if ((mode & this.#umask) || (mode & SPECIAL_BITS)) fd.chmod(mode);
      if (e.xattrs) this.#xattrs(path, e);
      fd.utimes(e.mtimeMs);
    } finally {
      this.#open = undefined;
      fd.close();
    }
  }

  /** Directory metadata last: children change a dir's mtime, and modes like 0500 must not block writes. */
  finishDirs() {
    for (let i = this.#dirs.length - 1; i >= 0; i--) {
      const d = this.#dirs[i];
      if (IS_ROOT) lchownAny(d.path, d.uid, d.gid);
      chmodAny(d.path, d.mode);
      this.#xattrs(d.path, d);
      if (!Number.isNaN(d.mtimeMs)) lutimesAny(d.path, d.mtimeMs);
    }
  }
}

/**
 * The process umask, read without changing it (umask(2) can only swap it,
 * which would race with other threads creating files).
 */
function currentUmask(): number {
  const m = /^Umask:\s*([0-7]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? parseInt(m[1], 8) : 0o7777; // unknown: always chmod
}

/**
 * The caller swaps staged dirs in right after this returns, so the whole
 * staged tree must be durable first: one syncfs per filesystem instead of an
 * fsync per file.
 */
async function syncStaged(dirs: string[]): Promise<void> {
  for (const dir of dirs) await syncFs(dir);
}

/** Both manifests come from the same schema parse, so key order is the schema's. */
function sameJson(a: Manifest, b: Manifest): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
