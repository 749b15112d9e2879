/**
 * Writes a whole snapshot archive (format volsnap/1): `volsnap.json`, then
 * `volumes/<index>/…` for each volume, compressed, hashed while written, and
 * made durable (temp file → fsync → rename → fsync dir). On any error or abort
 * the temp file is removed and the error rethrown.
 */
import type { ArchiveStats, Compression, Manifest, ManifestVolume } from "../core/model.ts";
import { MANIFEST_NAME, ManifestSchema } from "../core/model.ts";
import { AppError, errMessage, isNoSpace } from "../core/errors.ts";
import { openDurableWriter } from "../fs/durable.ts";
import {
  createFrameCompressor,
  type FrameCompressor,
  usesZstdCli,
} from "../compression/compress.ts";
import { type PackStats, packVolume } from "./pack.ts";
import { closeVolumeRoot, openVolumeRoot, type RootInfo } from "./volume_root.ts";
import { TarSink } from "./pack_sink.ts";
import { OffThreadSha256 } from "../hash/sha256_thread.ts";
import { type AgeFileSink, ageToFile } from "../crypto/age.ts";
import { encodeHeader, padding } from "../tar/write_header.ts";
import { type ArchiveLimits, DEFAULT_LIMITS } from "../tar/limits.ts";

export interface ArchiveVolumeSource {
  index: number;
  hostPath: string;
}
export type ManifestDraft = Omit<Manifest, "volumes"> & {
  volumes: Omit<ManifestVolume, "root">[];
};
export interface WriteArchiveOptions {
  /** e.g. <data>/archives/<workload>/<id>.tar.zst; the parent dir exists. */
  finalPath: string;
  /** volumes[i].root is filled in from the source directory. */
  manifest: ManifestDraft;
  /** One per manifest volume, same index. */
  sources: ArchiveVolumeSource[];
  compression: Compression;
  /** Default 3. */
  zstdLevel?: number;
  /** Tar bytes done so far; called at most ~10 times per second. */
  onProgress?: (uncompressedBytesDone: number) => void;
  /** A file changed/vanished while read, was unreadable, … */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
  /** The reader's limits; an entry beyond one fails the capture (LimitExceededError). */
  limits?: ArchiveLimits;
  /** zstd engine: "auto" (default: the zstd CLI when installed), "cli" or "node" (node:zlib worker). */
  zstdEngine?: "auto" | "cli" | "node";
  /**
   * age recipients (VOLSNAP_ENCRYPT_LOCAL): the file holds the archive
   * age-encrypted. sha256 and sizeBytes stay those of the plain archive
   * stream, the snapshot's identity everywhere else (download, copies).
   */
  encryptFor?: string[];
}

/** Tar bytes per batch (and per zstd frame). */
const BATCH_SIZE = 4 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;
/** A volume churning under quiesce=none could otherwise yield millions. */
const MAX_WARNINGS = 1000;

export async function writeSnapshotArchive(
  opts: WriteArchiveOptions,
): Promise<{ manifest: Manifest; stats: ArchiveStats }> {
  opts.signal?.throwIfAborted();
  const roots = openRoots(opts);
  let manifest: Manifest;
  try {
    manifest = ManifestSchema.parse({
      ...opts.manifest,
      volumes: opts.manifest.volumes.map((v) => {
        const { uid, gid, mode } = roots.get(v.index)!.root;
        return { ...v, root: { uid, gid, mode } };
      }),
    });
  } catch (err) {
    for (const r of roots.values()) closeVolumeRoot(r.fd);
    throw new AppError("internal", `invalid snapshot manifest: ${errMessage(err)}`, { cause: err });
  }

  const warnings: string[] = [];
  let suppressed = 0;
  const warn = (m: string) => {
    if (warnings.length >= MAX_WARNINGS) {
      suppressed++;
      return;
    }
    warnings.push(m);
    opts.onWarning?.(m);
  };
  let sizeBytes = 0;
  let sha256 = "";
  let out: Awaited<ReturnType<typeof openDurableWriter>>;
  try {
    out = await openDurableWriter(opts.finalPath, 0o600);
  } catch (err) {
    for (const r of roots.values()) closeVolumeRoot(r.fd);
    throw wrapIoError(err, opts.finalPath);
  }
  let hash: OffThreadSha256 | undefined;
  let compressor: FrameCompressor;
  // The zstd CLI writes the temp file itself (one pipe less through this
  // process, whose packing is the critical path); the hash worker reads the
  // file behind it.
  // Encrypted: age writes the file, and the hash worker moves zstd's output
  // into age, hashing the plain stream on the way (no bytes through this
  // thread); without the raw pipe fds the stream comes back here instead.
  const direct = usesZstdCli(opts) && !opts.encryptFor;
  let relayed = false;
  let age: AgeFileSink | undefined;
  try {
    const h = hash = new OffThreadSha256();
    if (direct) h.tail(out.tempPath, { writeback: true });
    const sink = age = opts.encryptFor ? ageToFile(opts.encryptFor, out.tempPath) : undefined;
    compressor = createFrameCompressor({
      compression: opts.compression,
      level: opts.compression === "zstd" ? (opts.zstdLevel ?? 3) : undefined,
      batchSize: BATCH_SIZE,
      zstdEngine: opts.zstdEngine,
      outputFile: direct ? out.tempPath : undefined,
      relayOutput: sink?.stdinFd != null
        ? (fd) => {
          relayed = true;
          return h.relay(fd, sink.stdinFd!).catch(async (err) => {
            throw (await sink.exitError()) ?? err; // age's own words when it failed
          });
        }
        : undefined,
      output: async (bytes) => {
        await h.update(bytes);
        await (sink ? sink.write(bytes) : out.write(bytes));
        sizeBytes += bytes.length;
      },
    });
  } catch (err) {
    await age?.close();
    await hash?.close();
    await out.abort();
    for (const r of roots.values()) closeVolumeRoot(r.fd);
    throw err;
  }
  let lastProgress = 0;
  const sink = new TarSink(compressor, {
    signal: opts.signal,
    onFlush: (done) => {
      const now = Date.now();
      if (opts.onProgress && now - lastProgress >= PROGRESS_INTERVAL_MS) {
        lastProgress = now;
        opts.onProgress(done);
      }
    },
  });
  const stats: PackStats = { fileCount: 0, skippedSpecial: 0 };
  try {
    await writeManifestEntry(sink, manifest);
    for (const v of manifest.volumes) {
      const r = roots.get(v.index)!;
      roots.delete(v.index); // packVolume owns (and closes) the fd from here
      await packVolume(
        {
          index: v.index,
          hostPath: r.hostPath,
          sink,
          stats,
          warn,
          signal: opts.signal,
          limits: opts.limits ?? DEFAULT_LIMITS,
        },
        r.fd,
        r.root,
      );
    }
    if (suppressed > 0) {
      const m = `${suppressed} more warnings like the above were not listed`;
      warnings.push(m);
      opts.onWarning?.(m);
    }
    await sink.zeros(1024); // end-of-archive marker: two zero blocks
    await sink.flush();
    await compressor.finish();
    await age?.finish();
    opts.signal?.throwIfAborted();
    sha256 = await hash.digest();
    if (direct || relayed) sizeBytes = hash.tailSize!;
    await out.commit();
  } catch (err) {
    // Stop everything that still writes or reads the temp file, then remove it.
    await compressor.close();
    await age?.close();
    await hash.close();
    await out.abort();
    throw wrapIoError(err, opts.finalPath);
  } finally {
    await compressor.close();
    await age?.close();
    await hash.close();
    for (const r of roots.values()) closeVolumeRoot(r.fd);
  }
  opts.onProgress?.(sink.bytes);
  return {
    manifest,
    stats: {
      sizeBytes,
      sha256,
      uncompressedBytes: sink.bytes,
      fileCount: stats.fileCount,
      skippedSpecial: stats.skippedSpecial,
      warnings,
    },
  };
}

export interface OpenRoot {
  hostPath: string;
  fd: number;
  root: RootInfo;
}

/** Opens every volume root up front, so a missing one fails before any writing. */
export function openRoots(
  opts: Pick<WriteArchiveOptions, "manifest" | "sources">,
): Map<number, OpenRoot> {
  const roots = new Map<number, OpenRoot>();
  try {
    for (const v of opts.manifest.volumes) {
      const src = opts.sources.find((s) => s.index === v.index);
      if (!src) {
        throw new AppError("internal", `no source directory for manifest volume ${v.index}`);
      }
      if (roots.has(v.index)) throw new AppError("internal", `duplicate volume index ${v.index}`);
      try {
        const { fd, root } = openVolumeRoot(src.hostPath);
        roots.set(v.index, { hostPath: src.hostPath, fd, root });
      } catch (err) {
        throw new AppError(
          "internal",
          `cannot open volume directory ${src.hostPath} (${v.key}): ${errMessage(err)}`,
          { cause: err, hint: "the volume root must be a readable directory, not a symlink" },
        );
      }
    }
  } catch (err) {
    for (const r of roots.values()) closeVolumeRoot(r.fd);
    throw err;
  }
  return roots;
}

export async function writeManifestEntry(sink: TarSink, manifest: Manifest): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n");
  await sink.put(encodeHeader({
    path: MANIFEST_NAME,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtimeMs: Date.parse(manifest.createdAt) || Date.now(),
  }));
  await sink.put(body);
  await sink.zeros(padding(body.length));
}

export function wrapIoError(err: unknown, finalPath: string): unknown {
  if (err instanceof AppError || (err as Error)?.name === "AbortError") return err;
  if (isNoSpace(err)) {
    return new AppError(
      "insufficient_space",
      `not enough disk space to write ${finalPath}: ENOSPC ${errMessage(err)}`,
      { cause: err, hint: "free space in the data directory or prune old snapshots" },
    );
  }
  return err;
}
