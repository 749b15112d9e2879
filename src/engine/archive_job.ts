/**
 * One snapshot being written, in two steps so that the app is down only for
 * the first: `write` reads the volumes (while quiesced), `finish` makes the
 * snapshot durable (after the app is back). A single-file archive does all
 * of it in `write`; a framed one (SPEC §15) defers the pack's fsync, the
 * stream hash and the frame list to `finish`.
 *
 * Framed captures are incremental against the workload's newest snapshot
 * when it qualifies (same host, kept as frames, consistent, not from
 * quiesce=none, not failed a check, every frame present); otherwise full,
 * with the reason recorded on the new snapshot.
 */
import { join } from "node:path";
import type { SnapshotRow } from "../../db/catalog.ts";
import type { ArchiveStats, Compression, Manifest, QuiesceMode } from "../core/model.ts";
import { MANIFEST_FORMAT } from "../core/model.ts";
import { errMessage } from "../core/errors.ts";
import { TOOL_NAME, VERSION } from "../core/version.ts";
import { zstdCliAvailable } from "../compression/zstd_cli.ts";
import {
  type CapturedFrames,
  captureFrames,
  type CaptureFramesOptions,
  type FramedParent,
  type FrameStats,
  LiveCopyUnsupported,
} from "../frames/frame_writer.ts";
import type { StreamHashGuess } from "../frames/stream_hash.ts";
import { ParentFrameError } from "../frames/parent.ts";
import { FRAMES_EXT, isFramedFile, readFramedSnapshot } from "../frames/snapshot_frames.ts";
import { frameStoreAt, refLocation } from "../frames/store.ts";
import { compactFrames } from "../frames/compact.ts";
import type { ManifestDraft } from "../pack/writer.ts";
import { removeArchiveFile } from "../retention/prune.ts";
import type { EngineContext } from "./context.ts";
import {
  archiveLocation,
  localRecipients,
  type VolumeSource,
  writeVolumesArchive,
} from "./snapshot_file.ts";

export interface ArchiveWrite {
  createdAt: string;
  quiesce: QuiesceMode;
  label?: string;
  volumes: VolumeSource[];
  onProgress?: (bytes: number) => void;
  onWarning: (w: string) => void;
  signal?: AbortSignal;
}

export interface FinishedArchive {
  stats: ArchiveStats;
  /** Recorded while packing; absent: compute it from the durable archive. */
  contentDigest?: Record<string, string>;
  frames?: FrameStats;
  parentId?: string;
  /** The pre-copy's time, or why none ran (framed stop/pause captures). */
  precopy?: { ms: number } | { skipped: string };
}

export interface ArchiveJob {
  /** Relative to the archives dir (the catalog's `file`). */
  file: string;
  finalPath: string;
  compression: Compression;
  /**
   * Before the quiesce (the app runs): reads the volumes once, so that
   * `write` reads only what changed since (SPEC §15). Never fails the
   * capture: a pre-copy that cannot run or fails is skipped (only an abort
   * is thrown). Absent for single-file archives.
   */
  precopy?(p: ArchiveWrite): Promise<void>;
  write(p: ArchiveWrite): Promise<Manifest>;
  finish(): Promise<FinishedArchive>;
  /** Drops whatever `write` produced (safe to call on any path). */
  abort(): Promise<void>;
}

/**
 * Whether snapshots with this compression are kept as frames. Not when local
 * archives are encrypted (VOLSNAP_ENCRYPT_LOCAL): frames are deduplicated by
 * the hash of their plaintext, which an encrypted store must not keep, so
 * such captures are single `.tar.zst.age` files (full, never incremental).
 */
export function framesEnabled(ctx: EngineContext, compression: Compression): boolean {
  return ctx.config.frameStore && compression === "zstd" && zstdCliAvailable() &&
    !localRecipients(ctx);
}

export async function archiveJob(
  ctx: EngineContext,
  workload: string,
  id: string,
  compression: Compression,
  opts: { incremental: boolean },
): Promise<ArchiveJob> {
  if (!framesEnabled(ctx, compression)) return await singleFileJob(ctx, workload, id, compression);
  await Deno.mkdir(join(ctx.paths.archives, workload), { recursive: true, mode: 0o700 });
  const file = `${workload}/${id}${FRAMES_EXT}`;
  const finalPath = join(ctx.paths.archives, file);
  const store = await frameStoreAt(ctx.paths.root);
  const parent = opts.incremental ? await chooseParent(ctx, workload) : {};
  let captured: Awaited<ReturnType<typeof captureFrames>> | undefined;
  let pre: {
    parent: FramedParent;
    storedBytes: number;
    /** Ids of the frames the pre-copy stored. */
    stored: Set<string>;
    incremental: boolean;
    fullReason?: string;
    ms: number;
    streamHash?: StreamHashGuess;
  } | { skipped: string } = {
    skipped: "not asked for",
  };
  // Held from the pre-copy to the end: compaction must not reclaim the
  // pre-copy's frames (referenced by no frame list yet) in between.
  let hold: (() => void) | undefined;
  const done = async () => {
    if ("parent" in pre) await pre.streamHash?.close();
    hold?.();
  };
  const capture = (
    p: ArchiveWrite,
    framedParent: FramedParent | undefined,
    more: Pick<CaptureFramesOptions, "fresh" | "live" | "streamHash" | "precopied"> = {},
  ) =>
    captureFrames({
      store,
      finalPath,
      manifest: draftManifest(id, workload, p),
      sources: p.volumes.map((v, index) => ({ index, hostPath: v.hostPath })),
      parent: framedParent,
      onProgress: p.onProgress,
      onWarning: p.onWarning,
      signal: p.signal,
      fault: (name) => ctx.fault(more.live ? `precopy.${name}` : name),
      limits: ctx.limits,
      writeBackFirst: p.quiesce === "pause",
      ...more,
    });
  return {
    file,
    finalPath,
    compression,
    async precopy(p) {
      if (ctx.config.precopy === "never") return void (pre = { skipped: "VOLSNAP_PRECOPY=never" });
      if (!parent.parent && ctx.config.precopy !== "always") {
        return void (pre = { skipped: "a full capture (VOLSNAP_PRECOPY=always pre-copies those)" });
      }
      hold ??= await store.lock.shared();
      const t0 = performance.now();
      let pass: CapturedFrames | undefined;
      try {
        // Its warnings (a file changing while the app writes it) are not the snapshot's.
        const quiet = { ...p, onWarning: () => {} };
        pass = await capture(quiet, parent.parent, { live: { startedMs: Date.now() } });
        const { snap, storedBytes, stored, incremental, fullReason, streamHash } = await pass
          .asParent();
        const volumeKeys = p.volumes.map((v) => v.key);
        pre = {
          parent: { snap, volumeKeys },
          storedBytes,
          stored,
          incremental,
          fullReason,
          ms: Math.round(performance.now() - t0),
          streamHash,
        };
      } catch (err) {
        await pass?.abort();
        if (p.signal?.aborted) throw err;
        pre = { skipped: errMessage(err) };
        if (!(err instanceof LiveCopyUnsupported)) {
          ctx.log.warn("pre-copy failed: the capture reads everything with the app down", {
            error: errMessage(err),
          });
        }
      }
    },
    async write(p) {
      try {
        captured = "parent" in pre
          ? await capture(p, pre.parent, { streamHash: pre.streamHash, precopied: pre.stored })
          : await capture(p, parent.parent);
      } catch (err) {
        if (!(err instanceof ParentFrameError)) throw err;
        // A damaged parent never blocks captures: this one reads everything and
        // shares no frame with the store, whose copies may be damaged too.
        ctx.log.warn("parent frame unreadable: capturing in full", { error: err.message });
        parent.reason = `parent ${parent.row?.id} is damaged (${err.message}); run a verify on it`;
        parent.parent = undefined;
        // The guessed hash read the store's copies, which this capture replaces.
        if ("parent" in pre) await pre.streamHash?.close();
        pre = { skipped: "a parent frame is damaged" };
        captured = await capture(p, undefined, { fresh: true });
      }
      return captured.manifest;
    },
    async finish() {
      try {
        const { stats, frames, contentDigest } = await captured!.finalize();
        if (parent.reason) frames.fullReason ??= parent.reason;
        if ("parent" in pre) {
          // What the pre-copy stored is part of what this snapshot added
          // (captureFrames did not count the part it references as shared).
          frames.storedBytes += pre.storedBytes;
          // Incremental against the catalog parent only when the pre-copy was.
          frames.incremental &&= pre.incremental && !!parent.parent;
          if (!pre.incremental) frames.fullReason ??= pre.fullReason;
        }
        return {
          stats,
          frames,
          contentDigest,
          parentId: frames.incremental ? parent.row?.id : undefined,
          precopy: "parent" in pre ? { ms: pre.ms } : pre,
        };
      } finally {
        await done();
      }
    },
    async abort() {
      try {
        await captured?.abort();
        await removeArchiveFile(finalPath);
      } finally {
        await done();
      }
    },
  };
}

async function singleFileJob(
  ctx: EngineContext,
  workload: string,
  id: string,
  compression: Compression,
): Promise<ArchiveJob> {
  const encryptFor = localRecipients(ctx);
  const { file, finalPath } = await archiveLocation(ctx, workload, id, compression, !!encryptFor);
  let result: { manifest: Manifest; stats: ArchiveStats } | undefined;
  return {
    file,
    finalPath,
    compression,
    async write(p) {
      result = await writeVolumesArchive({
        finalPath,
        id,
        workload,
        compression,
        ...p,
        limits: ctx.limits,
        encryptFor,
      });
      return result.manifest;
    },
    // deno-lint-ignore require-await
    async finish() {
      return { stats: result!.stats };
    },
    async abort() {},
  };
}

function draftManifest(id: string, workload: string, p: ArchiveWrite): ManifestDraft {
  return {
    format: MANIFEST_FORMAT,
    snapshotId: id,
    workload,
    createdAt: p.createdAt,
    tool: { name: TOOL_NAME, version: VERSION },
    quiesce: p.quiesce,
    label: p.label,
    volumes: p.volumes.map((v, index) => ({
      index,
      key: v.key,
      type: v.type,
      name: v.name,
      source: v.source,
      destinations: v.destinations,
    })),
  };
}

interface ParentChoice {
  row?: SnapshotRow;
  parent?: FramedParent;
  reason?: string;
}

/** The newest snapshot of the workload, when it can be a parent; else why not. */
async function chooseParent(ctx: EngineContext, workload: string): Promise<ParentChoice> {
  const rows = (await ctx.catalog.listSnapshots(workload)).filter((r) =>
    r.status === "complete" && (r.origin === "capture" || r.origin === "scheduled")
  );
  const row = rows[0];
  if (!row) return {};
  if (!isFramedFile(row.file)) return { reason: `parent ${row.id} is a single-file archive` };
  if (row.quiesce === "none") return { reason: `parent ${row.id} was captured with quiesce=none` };
  if (!row.consistent) return { reason: `parent ${row.id} is not consistent` };
  if (row.lastVerifyOk === false) return { reason: `parent ${row.id} failed its last check` };
  try {
    const snap = await readFramedSnapshot(join(ctx.paths.archives, row.file));
    const store = await frameStoreAt(ctx.paths.root);
    const missing = snap.frames.find((f) => !refLocation(store.get(f.id), f));
    if (missing) return { reason: `parent ${row.id} lacks frame ${missing.id} in the store` };
    if (snap.sha256 !== row.sha256) return { reason: `parent ${row.id} frame list is not its own` };
    const keys = (row.manifest as Manifest).volumes.map((v) => v.key);
    return { row, parent: { snap, volumeKeys: keys } };
  } catch (err) {
    return { reason: `parent ${row.id} frame list unreadable: ${errMessage(err)}` };
  }
}

/**
 * Compaction after snapshots were dropped: frames no frame list references
 * are reclaimed. Never fails the caller; skipped while the store is in use
 * (the next delete or capture retries).
 */
export async function reclaimFrames(ctx: EngineContext): Promise<void> {
  try {
    const store = await frameStoreAt(ctx.paths.root);
    const r = await compactFrames(store, ctx.paths, (name) => ctx.fault(name));
    if (r.skipped) ctx.log.info("frame compaction skipped", { reason: r.skipped });
    if (r.packsRemoved || r.packsRewritten) {
      await ctx.event(
        "frames_compacted",
        `frame store compacted: ${r.bytesReclaimed} bytes reclaimed`,
        undefined,
        r,
      );
    }
  } catch (err) {
    ctx.log.error("frame compaction failed", { error: errMessage(err) });
  }
}
