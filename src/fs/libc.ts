/**
 * The few libc calls Deno does not offer: *at() calls relative to an open
 * directory fd (no path re-walk, no /proc/self/fd detour), statx into a
 * reused buffer (no per-call object with Date fields), raw reads into a
 * caller's buffer, and fcntl. Loaded once, lazily; `null` when libc or the
 * FFI permission is unavailable, so every caller keeps a slower fallback.
 */

import { encodeName } from "./raw_names.ts";

const SYMBOLS = {
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  // Optional: glibc < 2.28 lacks statx, and then only the walker falls back.
  statx: {
    parameters: ["i32", "buffer", "i32", "u32", "buffer"],
    result: "i32",
    optional: true,
  },
  // ssize_t results read as i32: our buffers stay far below 2 GiB, and a
  // 64-bit result would come back as a BigInt (an allocation per call).
  readlinkat: { parameters: ["i32", "buffer", "buffer", "usize"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "i64" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i64" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  futimens: { parameters: ["i32", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  splice: {
    parameters: ["i32", "pointer", "i32", "pointer", "usize", "u32"],
    result: "i32",
    optional: true,
  },
  /** On a thread of Deno's blocking pool: waiting never stalls the event loop. */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  // Raw directory listing (glibc >= 2.30): names as bytes, many per call.
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "i32", optional: true },
  /** Only for files whose blocks say they may have holes (SEEK_DATA / SEEK_HOLE). */
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  // A pre-copy (src/pack/live_copy.ts) writes a file's dirty pages back before
  // reading it (a large file's on a pool thread); fstatfs names a volume's file system.
  sync_file_range: { parameters: ["i32", "i64", "i64", "u32"], result: "i32" },
  sync_file_range_async: {
    name: "sync_file_range",
    parameters: ["i32", "i64", "i64", "u32"],
    result: "i32",
    nonblocking: true,
  },
  fstatfs: { parameters: ["i32", "buffer"], result: "i32" },
  // Per thread on Linux (who = 0: the calling thread): a guessed stream hash yields the CPU.
  setpriority: { parameters: ["i32", "u32", "i32"], result: "i32" },
  /** SEEK_DATA on a pool thread: it may wait for a write() in progress (live_copy.ts). */
  lseek_async: {
    name: "lseek",
    parameters: ["i32", "i64", "i32"],
    result: "i64",
    nonblocking: true,
  },
  flistxattr: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  fgetxattr: { parameters: ["i32", "buffer", "buffer", "usize"], result: "i32" },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "i32" },
  fsetxattr: { parameters: ["i32", "buffer", "buffer", "usize", "i32"], result: "i32" },
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  // Path calls with byte paths, for names that are not UTF-8 (and mkfifo, which Deno lacks).
  mkdir: { parameters: ["buffer", "u32"], result: "i32" },
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  symlink: { parameters: ["buffer", "buffer"], result: "i32" },
  link: { parameters: ["buffer", "buffer"], result: "i32" },
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  chmod: { parameters: ["buffer", "u32"], result: "i32" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let loaded: Libc | null | undefined;

/** libc's symbols, or null where they cannot be loaded (no FFI permission, no glibc). */
export function libc(): Libc | null {
  if (loaded !== undefined) return loaded;
  // Never prompt: without FFI permission the callers' fallbacks apply.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return loaded = null;
  try {
    loaded = Deno.dlopen("libc.so.6", SYMBOLS).symbols; // kept open for the process's life
  } catch {
    loaded = null;
  }
  return loaded;
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  20: "ENOTDIR",
  21: "EISDIR",
  23: "ENFILE",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  32: "EPIPE",
  36: "ENAMETOOLONG",
  17: "EEXIST",
  40: "ELOOP",
  61: "ENODATA",
  75: "EOVERFLOW",
  95: "EOPNOTSUPP",
};

/** A failed libc call, with the errno name as `code` (like node:fs errors). */
export class ErrnoError extends Error {
  constructor(readonly errno: number, readonly code: string, what: string, detail: string) {
    super(`${code}: ${detail}, ${what}`);
    this.name = "ErrnoError";
  }
}

/** The calling thread's errno as an ErrnoError; call right after the failing call. */
export function lastError(lib: Libc, what: string): ErrnoError {
  const errno = new Deno.UnsafePointerView(lib.__errno_location()!).getInt32();
  const text = lib.strerror(errno);
  const detail = text ? Deno.UnsafePointerView.getCString(text) : `errno ${errno}`;
  return new ErrnoError(errno, ERRNO_NAMES[errno] ?? `E${errno}`, what, detail);
}

/**
 * A byte count for a size_t parameter. Deno passes a number through as it
 * is; its type declarations ask for a bigint, which would allocate per call.
 */
export function sizeT(n: number): bigint {
  return n as unknown as bigint;
}

const encoder = new TextEncoder();

/**
 * `s` as a NUL-terminated C string in `scratch` when it fits, else in a new
 * buffer. A name with escaped raw bytes (raw_names.ts) gets those bytes.
 */
export function cString(s: string, scratch: Uint8Array): Uint8Array {
  if (s.includes("\0")) throw new TypeError(`name contains a NUL byte: ${JSON.stringify(s)}`);
  let buf = scratch;
  if (s.length * 3 + 1 > buf.length) buf = new Uint8Array(s.length * 3 + 1);
  if (!s.isWellFormed()) {
    const raw = encodeName(s);
    buf.set(raw);
    buf[raw.length] = 0;
    return buf;
  }
  const { written } = encoder.encodeInto(s, buf);
  buf[written] = 0;
  return buf;
}
