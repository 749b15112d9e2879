/**
 * SHA-256 of archive bytes, off the calling thread (capture: the main thread's
 * packing is the capture's critical path). Chunks arrive in order and their
 * buffers are sent back for reuse.
 */
import { createHash } from "node:crypto";
import { lastError, libc, sizeT } from "../fs/libc.ts";

export type HashRequest =
  | { op: "update"; buf: ArrayBuffer; len: number }
  | { op: "digest" }
  /**
   * Hash a file while another process appends to it... With `writeback`,
   * also start flushing what was hashed (fdatasync every 64 MiB, beside the
   * hashing), so the writer's final fsync finds little left to write.
   */
  | { op: "tail"; path: string; writeback?: boolean }
  /** ...until this says the writer is done; then reply with the digest and size. */
  | { op: "end" }
  /** Give up (the archive is being abandoned): close the file and reply "stopped". */
  | { op: "stop" }
  /** Hash these byte ranges of files, in order, read here; then reply with the digest. */
  | { op: "ranges"; ranges: HashRange[] }
  /**
   * Copy pipe fd `from` (read end) to pipe fd `to` (write end), both open in
   * this process, hashing on the way, until `from` ends; then reply with the
   * digest and size. The fds stay open: their owner closes them.
   */
  | { op: "relay"; from: number; to: number };

/** `committedPath`: where the file is once renamed into place, tried when `path` is gone. */
export interface HashRange {
  path: string;
  committedPath?: string;
  offset: number;
  size: number;
}
export type HashReply =
  | { op: "buffer"; buf: ArrayBuffer }
  | { op: "digest"; hex: string; size?: number }
  | { op: "error"; message: string }
  | { op: "stopped" };

interface WorkerScope {
  onmessage: ((e: MessageEvent<HashRequest>) => void) | null;
  postMessage(msg: HashReply, transfer: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
const hash = createHash("sha256");

let writerDone = false;
let stopRequested = false;

const WRITEBACK_EVERY = 64 << 20;

/** Reads what the writer appended so far, naps briefly at EOF, until it is done. */
async function tail(path: string, writeback: boolean): Promise<void> {
  const f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(4 << 20);
  let size = 0;
  let unsynced = 0;
  let syncing: Promise<void> | undefined;
  try {
    for (;;) {
      if (stopRequested) return;
      const done = writerDone; // read before the final pass, so nothing is missed
      const n = f.readSync(buf);
      if (n) {
        hash.update(buf.subarray(0, n));
        size += n;
        unsynced += n;
        if (writeback && unsynced >= WRITEBACK_EVERY && !syncing) {
          unsynced = 0;
          // Not for durability (the writer fsyncs at the end): an early start on the I/O.
          syncing = f.syncData().catch(() => {}).finally(() => syncing = undefined);
        }
      } else if (done) {
        break;
      } else {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  } finally {
    await syncing;
    f.close();
    if (stopRequested) scope.postMessage({ op: "stopped" }, []);
  }
  scope.postMessage({ op: "digest", hex: hash.digest("hex"), size }, []);
}

/** Reads and hashes file ranges in order (a framed snapshot's frames, in their packs). */
async function hashRanges(ranges: HashRange[]) {
  const files = new Map<string, Deno.FsFile>();
  const buf = new Uint8Array(4 << 20);
  try {
    for (const r of ranges) {
      let f = files.get(r.path);
      if (!f) {
        f = await Deno.open(r.path, { read: true }).catch((err) => {
          if (!(err instanceof Deno.errors.NotFound) || !r.committedPath) throw err;
          return Deno.open(r.committedPath, { read: true });
        });
        files.set(r.path, f);
      }
      // Blocking reads: this thread has nothing else to do, and async ones
      // made hashing 550 MB of packs take 0.9 s.
      f.seekSync(r.offset, Deno.SeekMode.Start);
      // A range may be a whole pack (frames back to back): read 4 MiB at a time.
      for (let done = 0; done < r.size;) {
        const want = Math.min(buf.length, r.size - done);
        let got = 0;
        while (got < want) {
          const n = f.readSync(buf.subarray(got, want));
          if (n === null) throw new Error(`${r.path} ends before offset ${r.offset + r.size}`);
          got += n;
        }
        hash.update(buf.subarray(0, want));
        done += want;
      }
    }
  } finally {
    for (const f of files.values()) f.close();
  }
  scope.postMessage({ op: "digest", hex: hash.digest("hex") }, []);
}

/**
 * Blocking libc reads and writes on this worker's own thread: a capture's
 * compressed stream goes from zstd to age without the main thread (whose
 * packing is the critical path) touching it, and with one copy in and one out.
 */
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

function relay(from: number, to: number): void {
  const l = libc();
  if (!l) throw new Error("libc is unavailable");
  // Deno opens its child pipes non-blocking (for its event loop, which never
  // touches these two now): blocking calls here wait instead of spinning.
  for (const fd of [from, to]) {
    const flags = l.fcntl(fd, F_GETFL, 0);
    if (flags < 0 || l.fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
      throw lastError(l, `fcntl on fd ${fd}`);
    }
  }
  const buf = new Uint8Array(1 << 20);
  let size = 0;
  for (;;) {
    const n = l.read(from, buf, sizeT(buf.length));
    if (n < 0) {
      const e = lastError(l, "read from zstd");
      if (e.code === "EINTR") continue;
      throw e;
    }
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
    size += n;
    for (let off = 0; off < n;) {
      const w = Number(l.write(to, buf.subarray(off, n), sizeT(n - off)));
      if (w < 0) {
        const e = lastError(l, "write to age"); // EPIPE: age exited, its status says why
        if (e.code === "EINTR") continue;
        throw e;
      }
      off += w;
    }
  }
  scope.postMessage({ op: "digest", hex: hash.digest("hex"), size }, []);
}

scope.onmessage = (e) => {
  const req = e.data;
  if (req.op === "relay") {
    try {
      relay(req.from, req.to);
    } catch (err) {
      scope.postMessage({ op: "error", message: String((err as Error)?.message ?? err) }, []);
    }
    return;
  }
  if (req.op === "ranges") {
    hashRanges(req.ranges).catch((err) =>
      scope.postMessage({ op: "error", message: String(err?.message ?? err) }, [])
    );
    return;
  }
  if (req.op === "update") {
    hash.update(new Uint8Array(req.buf, 0, req.len));
    scope.postMessage({ op: "buffer", buf: req.buf }, [req.buf]);
  } else if (req.op === "digest") {
    scope.postMessage({ op: "digest", hex: hash.digest("hex") }, []);
  } else if (req.op === "tail") {
    tail(req.path, req.writeback ?? false).catch((err) =>
      scope.postMessage({ op: "error", message: String(err) }, [])
    );
  } else if (req.op === "end") {
    writerDone = true;
  } else {
    stopRequested = true;
  }
};
