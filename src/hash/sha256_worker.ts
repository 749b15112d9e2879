/**
 * SHA-256 of archive bytes, off the calling thread (capture: the main thread's
 * packing is the capture's critical path). Chunks arrive in order and their
 * buffers are sent back for reuse.
 */
import { createHash, type Hash } from "node:crypto";
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
   * A guess at a stream (a pre-copy's frames): hash its ranges keeping the
   * state every few MiB, reply "guessed"; then `resume` finishes the real one.
   */
  | { op: "guess"; ranges: HashRange[]; hold: Int32Array }
  /**
   * The real stream, equal to the guess in its first `sameUpTo` bytes: hashed
   * on from the last state kept at or before that point; reply with the digest.
   */
  | { op: "resume"; ranges: HashRange[]; sameUpTo: number }
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
  | { op: "stopped" }
  | { op: "guessed"; size: number };

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

/** Where a guess's hash state was kept: after exactly `offset` bytes. */
interface Checkpoint {
  offset: number;
  state: Hash;
}
const READ_SIZE = 4 << 20;
/** At most this much is hashed again after the real stream leaves the guess. */
const KEEP_STATE_EVERY = 1 << 20;
const PRIO_PROCESS = 0;
let checkpoints: Checkpoint[] = [];
/** Set by `resume` (which may arrive while the guess is read between two files). */
let guessOver = false;

/**
 * Reads and hashes file ranges in order (a framed snapshot's frames, in their
 * packs), from stream offset `from` into `h`; with `keep`, the state is kept
 * every few MiB (a guess), and it waits while `hold` is set.
 */
async function hashRanges(
  h: Hash,
  ranges: HashRange[],
  from = 0,
  keep?: { hold: Int32Array },
): Promise<number> {
  const files = new Map<string, Deno.FsFile>();
  const buf = new Uint8Array(READ_SIZE);
  let at = 0; // stream offset of the range's start
  try {
    for (const r of ranges) {
      if (at + r.size <= from) {
        at += r.size;
        continue;
      }
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
      const skip = Math.max(0, from - at);
      f.seekSync(r.offset + skip, Deno.SeekMode.Start);
      // A range may be a whole pack (frames back to back): read 4 MiB at a time.
      for (let done = skip; done < r.size;) {
        const want = Math.min(buf.length, r.size - done);
        let got = 0;
        while (got < want) {
          const n = f.readSync(buf.subarray(got, want));
          if (n === null) throw new Error(`${r.path} ends before offset ${r.offset + r.size}`);
          got += n;
        }
        if (keep) {
          // Held while the packer reads with the app down: the guess only uses spare time.
          while (Atomics.load(keep.hold, 0) === 1 && !guessOver) Atomics.wait(keep.hold, 0, 1, 50);
          if (guessOver) return at + done;
          const last = checkpoints[checkpoints.length - 1];
          if (!last || at + done - last.offset >= KEEP_STATE_EVERY) {
            checkpoints.push({ offset: at + done, state: h.copy() });
          }
        }
        h.update(buf.subarray(0, want));
        done += want;
      }
      at += r.size;
    }
  } finally {
    for (const f of files.values()) f.close();
  }
  return at;
}

async function resume(ranges: HashRange[], sameUpTo: number): Promise<string> {
  guessOver = true;
  let best: Checkpoint | undefined;
  for (const c of checkpoints) {
    if (c.offset <= sameUpTo && c.offset >= (best?.offset ?? 0)) best = c;
  }
  checkpoints = [];
  const h = best ? best.state : createHash("sha256");
  await hashRanges(h, ranges, best?.offset ?? 0);
  return h.digest("hex");
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
  const failed = (err: Error) =>
    scope.postMessage({ op: "error", message: String(err?.message ?? err) }, []);
  if (req.op === "ranges") {
    hashRanges(hash, req.ranges).then(
      () => scope.postMessage({ op: "digest", hex: hash.digest("hex") }, []),
      failed,
    );
    return;
  }
  if (req.op === "guess") {
    // Only idle CPU: the pass with the app stopped, which this may spare work, comes first.
    libc()?.setpriority(PRIO_PROCESS, 0, 19);
    const h = createHash("sha256");
    hashRanges(h, req.ranges, 0, { hold: req.hold }).then(
      (size) => scope.postMessage({ op: "guessed", size }, []),
      failed,
    );
    return;
  }
  if (req.op === "resume") {
    resume(req.ranges, req.sameUpTo).then(
      (hex) => scope.postMessage({ op: "digest", hex }, []),
      failed,
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
