/**
 * Captures volumes into the frame store: the same packer and manifest as a
 * single-file archive (src/pack/writer.ts), with the tar stream cut into
 * frames (cutter.ts) that go to a new pack of the store.
 *
 * Two steps, so that only reading happens while the app is down:
 *   `captureFrames` walks and reads (and references an unchanged parent's
 *   large files), then returns; `finalize` (after the app is back) makes the
 *   pack durable, hashes the stream (from the pack and the store), writes the
 *   snapshot's frame list durably. `abort` undoes a capture that is not kept.
 */
import type { ArchiveStats, Manifest } from "../core/model.ts";
import { ManifestSchema } from "../core/model.ts";
import { AppError, errMessage } from "../core/errors.ts";
import { type PackStats, packVolume } from "../pack/pack.ts";
import { TarSink } from "../pack/pack_sink.ts";
import { volumeFs } from "../pack/volume_fs.ts";
import {
  type ArchiveVolumeSource,
  type ManifestDraft,
  type OpenRoot,
  openRoots,
  wrapIoError,
  writeManifestEntry,
} from "../pack/writer.ts";
import { closeVolumeRoot } from "../pack/volume_root.ts";
import { changedTooRecently, liveCopyUnsupported, openForDirectIo } from "../pack/live_copy.ts";
import { ContentDigester } from "../drill/content_digest.ts";
import { type ArchiveLimits, DEFAULT_LIMITS } from "../tar/limits.ts";
import { type CutterStats, FrameCutter } from "./cutter.ts";
import type { ParentIndex } from "./parent.ts";
import { defaultWorkerCount, FramePool, hashOnCaller } from "./frame_pool.ts";
import { type FramedSnapshot, writeFramedSnapshot } from "./snapshot_frames.ts";
import type { FrameRef, FrameStore } from "./store.ts";
import { hashFrames, StreamHashGuess } from "./stream_hash.ts";

const PROGRESS_INTERVAL_MS = 100;
const MAX_WARNINGS = 1000;

/** A volume cannot be read safely while its app runs (live_copy.ts): no pre-copy. */
export class LiveCopyUnsupported extends Error {}

export interface FramedParent {
  snap: FramedSnapshot;
  /** The parent's manifest volumes' keys, by index. */
  volumeKeys: string[];
}

export interface CaptureFramesOptions {
  store: FrameStore;
  /** `<data>/archives/<workload>/<id>.frames`. */
  finalPath: string;
  manifest: ManifestDraft;
  sources: ArchiveVolumeSource[];
  level?: number;
  /** The snapshot to capture incrementally against. */
  parent?: FramedParent;
  onProgress?: (uncompressedBytesDone: number) => void;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
  fault?: (name: string) => Promise<void>;
  workers?: number;
  /** The reader's limits; an entry beyond one fails the capture. */
  limits?: ArchiveLimits;
  /** Store a copy of every frame, sharing none with the store (it was found damaged). */
  fresh?: boolean;
  /**
   * A pre-copy: the app still runs (src/pack/live_copy.ts). Its result is
   * only a parent for the capture that follows with the app stopped
   * (`asParent`), never a snapshot; files changed since `startedMs` (or just
   * before) are left out of it.
   */
  live?: { startedMs: number };
  /** Started on a pre-copy's frames (the stream is likely the same): finishes the stream's hash. */
  streamHash?: StreamHashGuess;
  /**
   * The app is paused (it keeps its mappings): write each file's dirty pages
   * back before it is read, as a pre-copy does (src/pack/live_copy.ts).
   */
  writeBackFirst?: boolean;
  /**
   * The frames a pre-copy stored (its `asParent().stored`): referenced here,
   * they are not shared with an earlier snapshot, they are this one's own.
   */
  precopied?: ReadonlySet<string>;
}

export interface FrameStats {
  frameCount: number;
  storedBytes: number;
  sharedBytes: number;
  reusedRawBytes: number;
  /** Set when a parent was offered but could not be used. */
  fullReason?: string;
  incremental: boolean;
}

export interface CapturedFrames {
  manifest: Manifest;
  /**
   * A pre-copy's end: its pack made durable (its frames findable), and what
   * the next capture needs to use it as a parent. Releases its hold on the
   * store: the caller holds one across both passes. `streamHash` has begun
   * hashing this stream, for the next pass (`streamHash` option) to finish.
   */
  asParent(): Promise<{
    snap: FramedSnapshot;
    storedBytes: number;
    /** Ids of the frames it stored (not in the store before it). */
    stored: Set<string>;
    /** Whether it was incremental against its parent, or why not. */
    incremental: boolean;
    fullReason?: string;
    streamHash: StreamHashGuess;
  }>;
  finalize(): Promise<
    { stats: ArchiveStats; frames: FrameStats; contentDigest: Record<string, string> }
  >;
  abort(): Promise<void>;
}

export async function captureFrames(opts: CaptureFramesOptions): Promise<CapturedFrames> {
  opts.signal?.throwIfAborted();
  const level = opts.level ?? 3;
  const release = await opts.store.lock.shared();
  let roots: Map<number, OpenRoot>;
  try {
    roots = openRoots(opts);
  } catch (err) {
    release();
    throw err;
  }
  const rootDevs = [...roots].map(([index, r]) => ({ index, dev: volumeFs().fstat(r.fd).dev }));
  const unsupported = opts.live &&
    [...roots.values()].map((r) => liveCopyUnsupported(r.fd)).find((why) => why);
  if (unsupported) {
    for (const r of roots.values()) closeVolumeRoot(r.fd);
    release();
    throw new LiveCopyUnsupported(unsupported);
  }
  const directIo = opts.live ? openForDirectIo() : undefined;
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
    release();
    throw new AppError("internal", `invalid snapshot manifest: ${errMessage(err)}`, { cause: err });
  }
  const { parent, fullReason } = usableParent(opts.parent, manifest, rootDevs, level);

  const warnings: string[] = [];
  let suppressed = 0;
  const warn = (m: string) => {
    if (warnings.length >= MAX_WARNINGS) return void suppressed++;
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const snapshotId = manifest.snapshotId;
  let pack, pool: FramePool | undefined;
  try {
    pack = await opts.store.newPack(`${snapshotId}-${randomHex()}`, { fresh: opts.fresh });
    pool = new FramePool(opts.workers ?? defaultWorkerCount());
  } catch (err) {
    await pack?.abort();
    pool?.close();
    for (const r of roots.values()) closeVolumeRoot(r.fd);
    release();
    throw wrapIoError(err, opts.finalPath);
  }
  const cutter = new FrameCutter({
    pack,
    store: opts.store,
    pool,
    level,
    hashFirst: !!parent,
    hashHere: hashOnCaller(opts.workers ?? defaultWorkerCount()),
    parent,
  });
  let lastProgress = 0;
  // The content digest (SPEC §10) is recorded on the way: the capture never reads its archive back.
  const digest = new ContentDigester();
  const sink = new TarSink(cutter, {
    signal: opts.signal,
    frames: cutter,
    digest,
    onFlush: (done) => {
      const now = Date.now();
      if (opts.onProgress && now - lastProgress >= PROGRESS_INTERVAL_MS) {
        lastProgress = now;
        opts.onProgress(done);
      }
    },
  });
  const stats: PackStats = { fileCount: 0, skippedSpecial: 0 };
  // The pre-copy's stream hash waits while this pass reads (the app is down).
  opts.streamHash?.hold(true);
  const undo = async () => {
    await cutter.close();
    pool!.close();
    await pack!.abort();
    for (const r of roots.values()) closeVolumeRoot(r.fd);
    release();
  };
  try {
    await writeManifestEntry(sink, manifest);
    for (const v of manifest.volumes) {
      const r = roots.get(v.index)!;
      roots.delete(v.index);
      await packVolume(
        {
          index: v.index,
          hostPath: r.hostPath,
          sink,
          stats,
          warn,
          signal: opts.signal,
          limits: opts.limits ?? DEFAULT_LIMITS,
          writeBackFirst: !!opts.live || !!opts.writeBackFirst,
          waitForWriters: !!opts.live,
        },
        r.fd,
        r.root,
      );
    }
    if (suppressed > 0) warn(`${suppressed} more warnings like the above were not listed`);
    cutter.end(sink.bytes);
    await sink.zeros(1024); // end-of-archive marker: two zero blocks
    await sink.flush();
    await cutter.finish();
    pool.close();
    opts.signal?.throwIfAborted();
  } catch (err) {
    await undo();
    throw wrapIoError(err, opts.finalPath);
  } finally {
    opts.streamHash?.hold(false);
  }
  opts.onProgress?.(sink.bytes);
  const rawSize = sink.bytes;
  const contentDigest = digest.result();
  let settled = false;
  // A pre-copy's files changed during it or just before are read again by
  // the next pass, and so are those on another file system mounted inside a
  // volume: only the roots' file systems were checked (liveCopyUnsupported).
  // Files open for direct I/O (before or after the walk) too: see openForDirectIo.
  const rootDevSet = new Set(rootDevs.map((d) => d.dev));
  if (directIo) { for (const key of openForDirectIo()) directIo.add(key); }
  const reusable = () =>
    opts.live
      ? cutter.reusableFiles.filter((f) =>
        rootDevSet.has(f.dev) && !changedTooRecently(f.ctimeMs, opts.live!.startedMs) &&
        !directIo?.has(`${f.dev}:${f.inoHi * 2 ** 32 + f.inoLo}`)
      )
      : cutter.reusableFiles;
  return {
    manifest,
    async asParent() {
      if (settled) throw new Error("capture already finalized or aborted");
      settled = true;
      try {
        await pack!.flush();
        await pack!.commit(opts.fault);
        const snap: FramedSnapshot = {
          snapshotId,
          level,
          size: cutter.list.reduce((n, f) => n + f.size, 0),
          rawSize,
          sha256: "",
          frames: cutter.list,
          recipes: cutter.recipes,
          files: reusable(),
          roots: rootDevs,
        };
        const stored = new Set(
          cutter.list.filter((f) => pack!.location(f.id)?.pack === pack!.name).map((f) => f.id),
        );
        // The next pass's stream is likely this one: its hash starts now, while the app stops.
        const streamHash = new StreamHashGuess(pack!, cutter.list);
        return {
          snap,
          storedBytes: cutter.stats.storedBytes,
          stored,
          incremental: !!parent,
          fullReason,
          streamHash,
        };
      } catch (err) {
        await pack!.abort();
        throw wrapIoError(err, opts.finalPath);
      } finally {
        release();
      }
    },
    async abort() {
      if (settled) return;
      settled = true;
      await undo();
    },
    async finalize() {
      if (settled) throw new Error("capture already finalized or aborted");
      settled = true;
      try {
        // The stream is hashed from the store and the pack, beside the pack's
        // fsync (which takes longer): hashing it on the way cost the packer's
        // thread 0.15 s per 30k small files while the app was down.
        await pack!.flush();
        const hashing = opts.streamHash
          ? opts.streamHash.digest(pack!, cutter.list)
          : hashFrames(pack!, cutter.list);
        hashing.catch(() => {});
        await pack!.commit(opts.fault);
        await opts.fault?.("frames.pack-committed");
        const sha256 = await hashing;
        const size = cutter.list.reduce((n, f) => n + f.size, 0);
        await writeFramedSnapshot(opts.finalPath, {
          snapshotId,
          level,
          size,
          rawSize,
          sha256,
          frames: cutter.list,
          recipes: cutter.recipes,
          files: reusable(),
          roots: rootDevs,
        });
        await opts.fault?.("frames.list-written");
        return {
          stats: {
            sizeBytes: size,
            sha256,
            uncompressedBytes: rawSize,
            fileCount: stats.fileCount,
            skippedSpecial: stats.skippedSpecial,
            warnings,
          },
          frames: frameStats(cutter.stats, !!parent, fullReason, cutter.list, opts.precopied),
          contentDigest,
        };
      } catch (err) {
        await pack!.abort();
        throw wrapIoError(err, opts.finalPath);
      } finally {
        release();
      }
    },
  };
}

function frameStats(
  s: CutterStats,
  incremental: boolean,
  fullReason: string | undefined,
  list: FrameRef[],
  precopied?: ReadonlySet<string>,
): FrameStats {
  // The pre-copy's frames it references were counted as shared: they are not.
  let own = 0;
  if (precopied) { for (const f of list) if (precopied.has(f.id)) own += f.size; }
  return {
    frameCount: s.frameCount,
    storedBytes: s.storedBytes,
    sharedBytes: Math.max(0, s.sharedBytes - own),
    reusedRawBytes: s.reusedRawBytes,
    fullReason,
    incremental,
  };
}

/** The parent's files as an index, unless its volumes or their devices changed. */
function usableParent(
  p: FramedParent | undefined,
  manifest: Manifest,
  devs: { index: number; dev: number }[],
  level: number,
): { parent?: ParentIndex; fullReason?: string } {
  if (!p) return {};
  if (p.snap.level !== level) return { fullReason: "parent used another compression level" };
  const keys = manifest.volumes.map((v) => v.key);
  if (keys.join("\n") !== p.volumeKeys.join("\n")) {
    return { fullReason: "the workload's volumes changed since the parent" };
  }
  for (const d of devs) {
    const was = p.snap.roots.find((r) => r.index === d.index);
    if (!was || was.dev !== d.dev) {
      return { fullReason: `volume ${keys[d.index]} is on another device than in the parent` };
    }
  }
  const recipes = new Map<string, FrameRef>();
  p.snap.recipes?.forEach((r, i) => r && recipes.set(r, p.snap.frames[i]));
  return {
    parent: {
      files: new Map(p.snap.files.map((f) => [f.path, f])),
      frames: p.snap.frames,
      recipes,
    },
  };
}

function randomHex(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}
