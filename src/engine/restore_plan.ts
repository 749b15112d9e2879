/**
 * Restore pre-flight (SPEC §5.1): all-or-nothing, touches nothing. Maps every
 * manifest volume to a target of the workload's CURRENT containers by mount
 * destination (never a path from the archive) and checks space per filesystem.
 */
import { join } from "node:path";
import type { SnapshotRow } from "../../db/catalog.ts";
import { restoreSource } from "./restore_source.ts";
import { AppError, notFound } from "../core/errors.ts";
import { filesystemOf, isMountPoint } from "../fs/space.ts";
import { checkNoMountsAtOrBelow } from "../guards/mounts.ts";
import { checkNoOutsideUsers } from "../guards/users.ts";
import type { Manifest, ManifestVolume, VolumeTarget, Workload } from "../core/model.ts";
import { measureDirSize, startOrder } from "../workloads/discover.ts";
import type { EngineContext } from "./context.ts";
import type { RestorePlan, RestoreRequest } from "./types.ts";

export interface PlannedVolume {
  manifest: ManifestVolume;
  target: VolumeTarget;
}

export interface RestorePreflight {
  plan: RestorePlan;
  row: SnapshotRow;
  archivePath: string;
  manifest: Manifest;
  volumes: PlannedVolume[];
  /**
   * False when decoding the archive checks its content by itself (a zstd
   * frame checksum), so staging need not hash the file a second time.
   */
  stagingMustHash: boolean;
  /** Off-host source (no local file): opens the archive stream for staging. */
  openSource?: () => Promise<ReadableStream<Uint8Array>>;
}

const HEADROOM_MIN = 64 << 20;
const INODE_HEADROOM_MIN = 100;
/** The pre-restore archive, its temp file and journal checkpoints. */
const DATA_DIR_INODES = 16;

export async function preflightRestore(
  ctx: EngineContext,
  workload: Workload,
  req: RestoreRequest,
): Promise<RestorePreflight> {
  const row = await ctx.catalog.getSnapshot(req.snapshotId);
  if (!row) throw notFound(`snapshot "${req.snapshotId}"`);
  if (row.status !== "complete") {
    throw new AppError("bad_archive", `snapshot ${row.id} is not complete (status ${row.status})`);
  }
  const foreign = row.workload !== workload.id;
  if (foreign && !req.allowForeign) {
    throw new AppError(
      "invalid_input",
      `snapshot ${row.id} belongs to workload "${row.workload}", not "${workload.id}"`,
      { hint: "pass allowForeign: true to clone or migrate it into this workload" },
    );
  }
  const source = await restoreSource(ctx, row);
  const { archivePath, manifest } = source;
  const volumes = mapVolumes(manifest, workload, req.volumes);
  for (const v of volumes) checkLiveDir(v.target);
  checkNotNested(volumes);
  await checkNoOutsideUsers(ctx.docker, workload, volumes.map((v) => v.target));
  const containersToStop = startOrder(workload.containers)
    .filter((c) => c.state === "running" || c.state === "paused" || c.state === "restarting")
    .map((c) => c.name);
  const space = await checkSpace(ctx, row, volumes);
  return {
    row,
    archivePath,
    manifest,
    volumes,
    stagingMustHash: source.stagingMustHash,
    openSource: source.open,
    plan: {
      snapshotId: row.id,
      workload: workload.id,
      foreign,
      volumes: volumes.map((v) => ({
        index: v.manifest.index,
        archiveKey: v.manifest.key,
        targetKey: v.target.key,
        hostPath: v.target.hostPath,
        destination: v.target.destinations[0]?.destination ?? "",
        uncompressedBytes: row.uncompressedBytes,
      })),
      space,
      containersToStop,
    },
  };
}

function mapVolumes(manifest: Manifest, workload: Workload, only?: string[]): PlannedVolume[] {
  const out: PlannedVolume[] = [];
  const wanted = only ? new Set(only) : undefined;
  const used = new Map<string, string>();
  for (const mv of manifest.volumes) {
    const target = matchTarget(mv, workload);
    if (wanted && !wanted.has(mv.key) && !(target && wanted.has(target.key))) continue;
    if (!target) {
      const dests = mv.destinations.map((d) => `${d.container}:${d.destination}`).join(", ");
      throw new AppError(
        "invalid_input",
        `archive volume ${mv.key} (mounted at ${dests}) has no counterpart among the current mounts of workload "${workload.id}"`,
        { hint: "restore a subset with `volumes`, or mount a volume at that destination" },
      );
    }
    const prev = used.get(target.key);
    if (prev) {
      throw new AppError(
        "invalid_input",
        `archive volumes ${prev} and ${mv.key} both map to ${target.key}`,
      );
    }
    used.set(target.key, mv.key);
    out.push({ manifest: mv, target });
  }
  if (wanted) {
    for (const k of wanted) {
      if (!out.some((v) => v.manifest.key === k || v.target.key === k)) {
        throw new AppError("invalid_input", `volume ${k} is not in the snapshot or has no target`);
      }
    }
  }
  if (out.length === 0) {
    throw new AppError("invalid_input", "nothing to restore: no volume selected");
  }
  return out;
}

/** Same container and destination first; otherwise a unique target with that destination. */
function matchTarget(mv: ManifestVolume, w: Workload): VolumeTarget | undefined {
  for (const d of mv.destinations) {
    const exact = w.volumes.find((t) =>
      t.destinations.some((td) => td.container === d.container && td.destination === d.destination)
    );
    if (exact) return exact;
  }
  for (const d of mv.destinations) {
    const byDest = w.volumes.filter((t) =>
      t.destinations.some((td) => td.destination === d.destination)
    );
    if (byDest.length === 1) return byDest[0];
    if (byDest.length > 1) {
      throw new AppError(
        "invalid_input",
        `destination ${d.destination} of archive volume ${mv.key} matches several current volumes`,
        { hint: "restore with `volumes` to pick one" },
      );
    }
  }
  return undefined;
}

/**
 * A target inside another one would have its staging dir created inside the
 * outer live dir, which the outer swap then moves away: refuse up front.
 */
function checkNotNested(volumes: PlannedVolume[]) {
  for (const a of volumes) {
    for (const b of volumes) {
      if (a !== b && b.target.hostPath.startsWith(a.target.hostPath.replace(/\/+$/, "") + "/")) {
        throw new AppError(
          "invalid_input",
          `${b.target.key} lies inside ${a.target.key}; volsnap cannot swap nested volumes in one restore`,
          { hint: "restore them one at a time with `volumes`" },
        );
      }
    }
  }
}

function checkLiveDir(t: VolumeTarget) {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(t.hostPath);
  } catch {
    throw new AppError("invalid_input", `live dir ${t.hostPath} of ${t.key} does not exist`);
  }
  if (!st.isDirectory) {
    throw new AppError("invalid_input", `live path ${t.hostPath} of ${t.key} is not a directory`);
  }
  if (isMountPoint(t.hostPath)) {
    throw new AppError(
      "invalid_input",
      `live dir ${t.hostPath} of ${t.key} is a mount point; volsnap restores by renaming beside it and cannot swap a mount point`,
    );
  }
  // Same-filesystem bind mounts, and mounts anywhere below the dir.
  checkNoMountsAtOrBelow(t.key, t.hostPath);
}

async function checkSpace(ctx: EngineContext, row: SnapshotRow, volumes: PlannedVolume[]) {
  type Need = { path: string; need: number; avail: number; inodes: number; freeInodes?: number };
  const byFs = new Map<number, Need>();
  const headroom = (n: number) => Math.max(HEADROOM_MIN, Math.ceil(n * 0.05));
  const inodeHeadroom = (n: number) => Math.max(INODE_HEADROOM_MIN, Math.ceil(n * 0.05));
  const entry = (path: string) => {
    const fs = filesystemOf(path);
    const e = byFs.get(fs.dev) ??
      { path, need: 0, avail: fs.availableBytes, inodes: 0, freeInodes: fs.freeInodes };
    byFs.set(fs.dev, e);
    return e;
  };
  for (const v of volumes) {
    const e = entry(join(v.target.hostPath, ".."));
    // The archive's totals bound what all its volumes on one filesystem expand to.
    e.need = row.uncompressedBytes;
    e.inodes = row.fileCount;
  }
  for (const e of byFs.values()) {
    e.need += headroom(e.need);
    e.inodes += inodeHeadroom(e.inodes);
  }
  // The pre-restore archive of the current data lands in the data dir.
  let liveBytes = 0;
  for (const v of volumes) {
    liveBytes += (await measureDirSize(v.target.hostPath, { maxMs: 5000 })).bytes;
  }
  const d = entry(ctx.paths.archives);
  d.need += liveBytes + headroom(liveBytes);
  d.inodes += DATA_DIR_INODES;
  const space = [...byFs.entries()].map(([dev, e]) => ({
    filesystem: String(dev),
    path: e.path,
    neededBytes: e.need,
    availableBytes: e.avail,
    neededInodes: e.inodes,
    freeInodes: e.freeInodes ?? null,
  }));
  const short = space.find((s) => s.neededBytes > s.availableBytes);
  if (short) {
    throw new AppError(
      "insufficient_space",
      `not enough space on the filesystem of ${short.path}: need ${short.neededBytes} bytes, ${short.availableBytes} available`,
      { hint: "free space there or restore fewer volumes" },
    );
  }
  const fewInodes = space.find((s) => s.freeInodes !== null && s.neededInodes > s.freeInodes);
  if (fewInodes) {
    throw new AppError(
      "insufficient_space",
      `not enough free inodes on the filesystem of ${fewInodes.path}: need ${fewInodes.neededInodes}, ${fewInodes.freeInodes} free`,
      { hint: "free inodes there (delete small files) or restore fewer volumes" },
    );
  }
  return space;
}
