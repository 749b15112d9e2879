/**
 * Compression of the tar byte stream, batch by batch, off the main thread.
 *
 * The packer fills fixed-size batches and hands them over with `push`; the
 * compressed bytes come out of `output` in the original order. zstd runs in
 * the zstd CLI (`-T0`, all cores) when installed, else in a node:zlib worker;
 * gzip in a node:zlib worker; none passes batches straight through. Buffers
 * are recycled and only a few batches are in flight, so memory stays flat.
 */
import type { Compression } from "../core/model.ts";
import type { CompressKind, WorkerReply, WorkerRequest } from "./compress_worker.ts";
import { lastError, libc, sizeT } from "../fs/libc.ts";
import { growPipe, ownFdOfChildPipe } from "./pipe_size.ts";
import { ZSTD_BIN, zstdCliAvailable } from "./zstd_cli.ts";

export interface FrameCompressorOptions {
  compression: Compression;
  /** zstd level (default 3) or gzip level (default 6). */
  level?: number;
  /** Size of one batch of tar bytes. */
  batchSize: number;
  /** Receives compressed bytes in order; may keep nothing after it resolves. */
  output: (bytes: Uint8Array) => Promise<void>;
  /** zstd: "auto" (default) uses the zstd CLI when present, else node:zlib in a worker. */
  zstdEngine?: "auto" | "cli" | "node";
  /**
   * zstd CLI only: the CLI appends its output to this existing (empty) file
   * instead of passing it to `output`. Check `usesZstdCli` first.
   */
  outputFile?: string;
  /**
   * zstd CLI only, instead of `output`: called with this process's raw fd of
   * the CLI's stdout pipe, to move the bytes on without the event loop
   * (OffThreadSha256.relay); resolves when it read to the end. Unused (and
   * `output` receives the bytes) when the fd cannot be found.
   */
  relayOutput?: (stdoutFd: number) => Promise<void>;
}

export interface FrameCompressor {
  /** An empty batch buffer of `batchSize` bytes to fill. */
  acquire(): Uint8Array;
  /** Takes ownership of `batch` (a prefix of an acquired buffer); resolves when there is room for more. */
  push(batch: Uint8Array): Promise<void>;
  /** Compresses and writes everything pushed so far and ends the stream. */
  finish(): Promise<void>;
  /** Stops the worker or child process (and waits for a child to exit); call always. */
  close(): Promise<void>;
  /**
   * zstd CLI only: appends up to `length` bytes of the file open at `fd` by
   * splice(2), file pages straight into zstd's pipe (no read into JS, no
   * write out of it), after everything pushed before. Resolves to the bytes
   * moved; the caller reads any rest the ordinary way from the file's
   * current offset (the file ended early, or its file system cannot splice
   * or failed: a read then reports why). Rejects on abort or if zstd died.
   */
  spliceFile?(fd: number, length: number, signal?: AbortSignal): Promise<number>;
}

/** Whether these options compress through the zstd CLI. */
export function usesZstdCli(
  opts: Pick<FrameCompressorOptions, "compression" | "zstdEngine">,
): boolean {
  const engine = opts.zstdEngine ?? "auto";
  return opts.compression === "zstd" &&
    (engine === "cli" || (engine === "auto" && zstdCliAvailable()));
}

export function createFrameCompressor(opts: FrameCompressorOptions): FrameCompressor {
  if (opts.compression === "none") return passthrough(opts);
  if (usesZstdCli(opts)) return zstdCli(opts);
  if (opts.outputFile) throw new Error("outputFile needs the zstd CLI");
  return zlibWorker(opts);
}

/**
 * zstd through the CLI with `-T0`: one frame, compressed on every core while
 * we pack on the main thread. node:zlib cannot run zstd multi-threaded, and
 * its one-frame-per-worker alternative is unreadable for Deno's own decoder.
 */
function zstdCli(opts: FrameCompressorOptions): FrameCompressor {
  const level = opts.level ?? 3;
  if (!Number.isInteger(level) || level < 1 || level > 19) {
    throw new RangeError(`zstd level must be 1..19, got ${level}`);
  }
  // --check (zstd's default, made explicit): the frame's content checksum is
  // what guards a restore between its pre-flight hash and the staging read.
  const args = [`-${level}`, "--check", "-T0", "-q", "-c", "--no-progress"];
  // With outputFile, zstd appends to it itself (same inode, so the caller's
  // fsync covers it): the compressed bytes never cross a pipe back to us.
  const child = (opts.outputFile
    ? new Deno.Command("sh", {
      args: ["-c", `exec "$0" "$@" >> "$VOLSNAP_ZSTD_OUT"`, ZSTD_BIN, ...args],
      env: { VOLSNAP_ZSTD_OUT: opts.outputFile },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    })
    : new Deno.Command(ZSTD_BIN, { args, stdin: "piped", stdout: "piped", stderr: "piped" }))
    .spawn();
  const stdinFd = ownFdOfChildPipe(child.pid, 0);
  if (stdinFd !== null) growPipe(stdinFd);
  const stdin = child.stdin.getWriter();
  stdin.closed.catch(() => {});
  let failure: unknown;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  const stderr = new Response(child.stderr).text().catch(() => "");
  /**
   * A broken stdin pipe means zstd died; its own message (e.g. "No space
   * left on device" when it writes the file itself) is the useful error.
   */
  const exitError = async (err: unknown): Promise<unknown> => {
    const status = await child.status;
    if (status.success) return err;
    const msg = (await stderr).trim();
    return new Error(`zstd exited with ${status.code}${msg ? ": " + msg : ""}`, { cause: err });
  };
  const stdoutFd = opts.relayOutput && !opts.outputFile ? ownFdOfChildPipe(child.pid, 1) : null;
  if (stdoutFd !== null) growPipe(stdoutFd);
  // Read the CLI's output straight into one reused 1 MiB buffer (BYOB: no
  // per-read allocation) and hand it on when full.
  const pump = opts.outputFile
    ? Promise.resolve()
    : stdoutFd !== null
    ? opts.relayOutput!(stdoutFd).finally(() => child.stdout.cancel().catch(() => {}))
    : (async () => {
      const reader = child.stdout.getReader({ mode: "byob" });
      let acc = new Uint8Array(1 << 20);
      let n = 0;
      for (;;) {
        const r = await reader.read(new Uint8Array(acc.buffer, n, acc.length - n));
        if (r.value) acc = new Uint8Array(r.value.buffer); // the buffer comes back transferred
        if (r.done) break;
        n += r.value.length;
        if (n === acc.length) {
          await opts.output(acc);
          n = 0;
        }
      }
      if (n > 0) await opts.output(acc.subarray(0, n));
    })();
  pump.catch((err) => {
    failure ??= err;
    kill(); // unblocks a stdin write waiting on a full pipe
  });
  const spares: Uint8Array[] = [];
  // Writes queued to zstd's stdin; two keep it fed through stretches of tiny files.
  const inFlight: { batch: Uint8Array; done: Promise<void> }[] = [];
  const MAX_QUEUED = 2;
  const settleOne = async () => {
    const f = inFlight.shift();
    if (!f) return;
    try {
      await f.done;
    } catch (err) {
      failure ??= await exitError(err);
    }
    spares.push(new Uint8Array(f.batch.buffer, 0, opts.batchSize));
    if (failure) throw failure;
  };
  return {
    acquire() {
      return spares.pop() ?? new Uint8Array(opts.batchSize);
    },
    async push(batch) {
      if (failure) throw failure;
      while (inFlight.length >= MAX_QUEUED) await settleOne();
      const done = stdin.write(batch);
      done.catch(() => {}); // observed by settleOne(); a kill must not leave it unhandled
      inFlight.push({ batch, done });
    },
    async finish() {
      while (inFlight.length > 0) await settleOne();
      await stdin.close();
      await pump.catch(() => {});
      const status = await child.status;
      if (failure) throw failure;
      if (!status.success) throw await exitError(undefined);
    },
    async close() {
      kill();
      stdin.abort().catch(() => {});
      await child.status.catch(() => {});
      // A relay reads our stdout fd on another thread: it must have stopped
      // (zstd's death ends it) before the fd is closed and its number reused.
      if (stdoutFd !== null) await pump.catch(() => {});
    },
    spliceFile: stdinFd === null || !libc()?.splice ? undefined : async (fd, length, signal) => {
      if (failure) throw failure;
      while (inFlight.length > 0) await settleOne(); // keep the stream in order
      let moved: number;
      try {
        moved = await spliceToPipe(fd, stdinFd, length, signal);
      } catch (err) {
        if (err instanceof ZstdGone) failure ??= await exitError(err); // zstd says why
        throw failure ?? err;
      }
      if (failure) throw failure;
      return moved;
    },
  };
}

/** zstd's end of the pipe is closed: it exited (its status and stderr tell why). */
class ZstdGone extends Error {}

const SPLICE_F_MOVE = 1;
const SPLICE_F_NONBLOCK = 2;
const POLLOUT = 4;
const POLLERR = 8;
/** One splice call moves at most a pipe's worth; this is only an upper bound. */
const SPLICE_MAX = 1 << 20;
/** A full pipe is re-checked this often, so an abort is seen within it. */
const POLL_MS = 100;
/** Failed splices in a row into a pipe that poll calls writable: the file side is failing. */
const MAX_STUCK = 64;

/**
 * Moves up to `length` bytes from file `fd` into the non-blocking pipe
 * `pipeFd`; returns how many. While the pipe is full it waits for room on a
 * pool thread, so the event loop (HTTP, progress) keeps running. errno is
 * only a hint here (a runtime call on this thread can overwrite it before
 * we read it): poll says whether the pipe is full, writable or broken, and
 * any other failure ends the splice early for the caller's read to explain.
 */
async function spliceToPipe(
  fd: number,
  pipeFd: number,
  length: number,
  signal?: AbortSignal,
): Promise<number> {
  const lib = libc()!;
  const pollFd = new Uint8Array(8);
  const view = new DataView(pollFd.buffer);
  view.setInt32(0, pipeFd, true);
  view.setInt16(4, POLLOUT, true);
  let done = 0;
  let stuck = 0;
  while (done < length) {
    signal?.throwIfAborted();
    const want = sizeT(Math.min(length - done, SPLICE_MAX));
    const n = lib.splice!(fd, null, pipeFd, null, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      done += n;
      stuck = 0;
      continue;
    }
    if (n === 0) break; // the file ended early
    const code = lastError(lib, "splice").code;
    if (code === "EINTR") continue;
    view.setInt16(6, 0, true);
    await lib.poll(pollFd, 1n, code === "EAGAIN" ? POLL_MS : 0);
    const revents = view.getInt16(6, true);
    if (revents & POLLERR) throw new ZstdGone("zstd closed its input");
    // Room in the pipe, yet the splice failed: the file side is the problem.
    if (revents & POLLOUT && (code !== "EAGAIN" || ++stuck > MAX_STUCK)) break;
  }
  return done;
}

function passthrough(opts: FrameCompressorOptions): FrameCompressor {
  let spare: Uint8Array | undefined;
  return {
    acquire() {
      const b = spare ?? new Uint8Array(opts.batchSize);
      spare = undefined;
      return b;
    },
    async push(batch) {
      await opts.output(batch);
      spare = new Uint8Array(batch.buffer, 0, opts.batchSize);
    },
    async finish() {},
    async close() {},
  };
}

/**
 * node:zlib compression in one worker: one zstd frame or gzip member for the
 * whole archive, so packing (main thread) and compressing overlap. Not one
 * frame per batch on several workers: Deno 2.9.6's node:zlib zstd decoder
 * stops after the first frame of a concatenated stream.
 */
function zlibWorker(opts: FrameCompressorOptions): FrameCompressor {
  const kind: CompressKind = opts.compression === "zstd" ? "zstd" : "gzip";
  const level = opts.level ?? (kind === "zstd" ? 3 : 6);
  const maxInFlight = 2; // one batch compressing, one queued
  // Worst case: the whole batch incompressible plus what the context held back.
  const outSize = opts.batchSize + (opts.batchSize >> 7) + (1 << 20);
  const waiters = new Map<
    number,
    { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }
  >();
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    for (const w of waiters.values()) w.reject(failure);
    waiters.clear();
  };
  const w = new Worker(new URL("./compress_worker.ts", import.meta.url).href, {
    type: "module",
  });
  w.onmessage = (e: MessageEvent<WorkerReply>) => {
    const waiter = waiters.get(e.data.id);
    waiters.delete(e.data.id);
    waiter?.resolve(e.data);
  };
  w.onerror = (e) => {
    e.preventDefault();
    fail(new Error(`compression worker failed: ${e.message}`));
  };

  const freeIn: ArrayBuffer[] = [];
  const freeOut: ArrayBuffer[] = [];
  const queue: Promise<Extract<WorkerReply, { out: ArrayBuffer }>>[] = [];
  let nextId = 0;

  const send = (buf: ArrayBuffer, len: number, end: boolean) => {
    const out = freeOut.pop() ?? new ArrayBuffer(outSize);
    const req: WorkerRequest = { id: nextId++, kind, level, buf, len, out, end };
    const p = failure ? Promise.reject(failure) : new Promise<WorkerReply>((resolve, reject) => {
      waiters.set(req.id, { resolve, reject });
      w.postMessage(req, [buf, out]);
    }).then((r) => {
      if ("error" in r) throw new Error(`${kind} compression failed: ${r.error}`);
      return r;
    });
    p.catch(() => {}); // observed in order by drainOne
    queue.push(p);
  };

  const drainOne = async () => {
    const r = await queue.shift()!;
    if (r.buf.byteLength === opts.batchSize) freeIn.push(r.buf);
    await opts.output(new Uint8Array(r.out, 0, r.outLen));
    for (const x of r.extra) await opts.output(new Uint8Array(x));
    freeOut.push(r.out);
  };

  return {
    acquire() {
      const ab = freeIn.pop();
      return ab ? new Uint8Array(ab) : new Uint8Array(opts.batchSize);
    },
    async push(batch) {
      send(batch.buffer as ArrayBuffer, batch.length, false);
      while (queue.length >= maxInFlight) await drainOne();
    },
    async finish() {
      send(new ArrayBuffer(0), 0, true);
      while (queue.length > 0) await drainOne();
    },
    // deno-lint-ignore require-await
    async close() {
      w.terminate();
      fail(new Error("compressor closed"));
    },
  };
}
