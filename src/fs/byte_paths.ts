/**
 * Path calls for what Deno and node:fs cannot do: names that are not UTF-8
 * (a path from raw_names.ts with escaped bytes is passed to libc as those
 * bytes), fifos, and extended attributes. Well-formed paths take Deno's own
 * calls, so the common case is unchanged; these need libc (FFI) and throw an
 * ErrnoError-like error otherwise.
 */
import fs from "node:fs";
import { cString, ErrnoError, lastError, type Libc, libc, sizeT } from "./libc.ts";

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const scratch = new Uint8Array(16 * 1024);
const scratch2 = new Uint8Array(16 * 1024);

function lib(what: string): Libc {
  const l = libc();
  if (!l) {
    throw new ErrnoError(95, "EOPNOTSUPP", what, "libc (FFI) is needed for this name or file type");
  }
  return l;
}

function check(l: Libc, r: number, what: string): void {
  if (r !== 0) throw lastError(l, what);
}

/** Byte-exact `path` for libc (a new buffer when it does not fit the scratch). */
function c(path: string, buf = scratch): Uint8Array {
  return cString(path, buf);
}

export function mkdirAny(path: string, mode: number): void {
  if (path.isWellFormed()) return Deno.mkdirSync(path, { mode });
  const l = lib("mkdir");
  check(l, l.mkdir(c(path), mode), `mkdir '${path}'`);
}

/** An open file for writing; node:fs for well-formed paths, libc for raw ones. */
export interface WriteHandle {
  /** Bytes written from `buf[off, off+len)` at `pos` (null: at the file offset). */
  write(buf: Uint8Array, off: number, len: number, pos: number | null): number;
  chown(uid: number, gid: number): void;
  chmod(mode: number): void;
  truncate(size: number): void;
  utimes(mtimeMs: number): void;
  close(): void;
}

/** open(2) with `flags` (O_CREAT etc.). */
export function openAny(path: string, flags: number, mode: number): WriteHandle {
  if (path.isWellFormed()) return nodeHandle(fs.openSync(path, flags, mode));
  const l = lib("open");
  const fd = l.openat(AT_FDCWD, c(path), flags, mode);
  if (fd < 0) throw lastError(l, `open '${path}'`);
  return libcHandle(l, fd, path);
}

function nodeHandle(fd: number): WriteHandle {
  return {
    write: (buf, off, len, pos) => fs.writeSync(fd, buf, off, len, pos),
    chown: (uid, gid) => fs.fchownSync(fd, uid, gid),
    chmod: (mode) => fs.fchmodSync(fd, mode),
    truncate: (size) => fs.ftruncateSync(fd, size),
    utimes: (ms) => {
      const s = toSeconds(ms);
      fs.futimesSync(fd, s, s);
    },
    close: () => fs.closeSync(fd),
  };
}

/** A file opened by libc: Deno's node:fs does not know its fd. */
function libcHandle(l: Libc, fd: number, path: string): WriteHandle {
  const what = (op: string) => `${op} '${path}'`;
  return {
    write(buf, off, len, pos) {
      const part = buf.subarray(off, off + len);
      const n = Number(
        pos === null ? l.write(fd, part, sizeT(len)) : l.pwrite(fd, part, sizeT(len), BigInt(pos)),
      );
      if (n < 0) throw lastError(l, what("write"));
      return n;
    },
    chown: (uid, gid) => check(l, l.fchown(fd, uid, gid), what("fchown")),
    chmod: (mode) => check(l, l.fchmod(fd, mode), what("fchmod")),
    truncate: (size) => check(l, l.ftruncate(fd, BigInt(size)), what("ftruncate")),
    utimes: (ms) => check(l, l.futimens(fd, timespecs(ms)), what("futimens")),
    close: () => check(l, l.close(fd), what("close")),
  };
}

/** struct timespec[2] (atime, mtime) for a whole-ms time. */
function timespecs(mtimeMs: number): Uint8Array {
  const ms = Math.round(mtimeMs);
  const sec = Math.floor(ms / 1000);
  const ns = BigInt((ms - sec * 1000) * 1e6);
  return new Uint8Array(new BigInt64Array([BigInt(sec), ns, BigInt(sec), ns]).buffer);
}

export function symlinkAny(target: string, path: string): void {
  if (path.isWellFormed() && target.isWellFormed()) return Deno.symlinkSync(target, path);
  const l = lib("symlink");
  check(l, l.symlink(c(target, scratch2), c(path)), `symlink '${path}'`);
}

export function linkAny(existing: string, path: string): void {
  if (path.isWellFormed() && existing.isWellFormed()) return Deno.linkSync(existing, path);
  const l = lib("link");
  check(l, l.link(c(existing, scratch2), c(path)), `link '${path}'`);
}

export function lchownAny(path: string, uid: number, gid: number): void {
  if (path.isWellFormed()) return fs.lchownSync(path, uid, gid);
  const l = lib("lchown");
  check(l, l.lchown(c(path), uid, gid), `lchown '${path}'`);
}

/** chmod (follows a final symlink: only for what is not one). */
export function chmodAny(path: string, mode: number): void {
  if (path.isWellFormed()) return fs.chmodSync(path, mode);
  const l = lib("chmod");
  check(l, l.chmod(c(path), mode), `chmod '${path}'`);
}

/** atime and mtime of `path` itself (not a symlink's target), from whole ms. */
export function lutimesAny(path: string, mtimeMs: number): void {
  if (path.isWellFormed()) {
    const s = toSeconds(mtimeMs);
    return fs.lutimesSync(path, s, s);
  }
  const l = lib("utimensat");
  const r = l.utimensat(AT_FDCWD, c(path), timespecs(mtimeMs), AT_SYMLINK_NOFOLLOW);
  check(l, r, `utimensat '${path}'`);
}

/** A fifo at `path` (mode before the umask, like mkfifo(3)). */
export function mkfifoAny(path: string, mode: number): void {
  const l = lib("mkfifo");
  check(l, l.mkfifo(c(path), mode), `mkfifo '${path}'`);
}

/** Sets one extended attribute on `path` itself (not a symlink's target). */
export function setXattr(path: string, name: string, value: Uint8Array): void {
  const l = lib("setxattr");
  const r = l.lsetxattr(c(path), c(name, scratch2), value, sizeT(value.length), 0);
  check(l, r, `setxattr ${name} on '${path}'`);
}

/**
 * Seconds for utimes from a millisecond time. ms/1000 is not exact in binary
 * floating point and the kernel truncates to ns, so 1.123 s could land as
 * 1.122999999 s; half a microsecond above the millisecond keeps the ms exact.
 */
function toSeconds(ms: number): number {
  return (Math.round(ms) + 0.0005) / 1000;
}
