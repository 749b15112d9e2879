/**
 * The Engine facade the HTTP layer and CLI use (contract in types.ts). Each
 * operation lives in its own module; this file only wires them together.
 */
import { join } from "node:path";
import type { SnapshotRow } from "../../db/catalog.ts";
import { archiveExtension, type Workload } from "../core/model.ts";
import { encryptFileDurable, openLocalArchive } from "./local_archive.ts";
import { isAgeFile } from "../crypto/age.ts";
import { importArchive } from "../unpack/import.ts";
import { verifyArchiveFile, verifyArchiveStream } from "../unpack/verify.ts";
import { isFramedFile } from "../frames/snapshot_frames.ts";
import { storageInfo } from "../frames/storage_info.ts";
import { frameStoreAt } from "../frames/store.ts";
import { reclaimFrames } from "./archive_job.ts";
import { AppError, errMessage, notFound } from "../core/errors.ts";
import { renameDurable } from "../fs/durable.ts";
import { discoverWorkloads, findWorkload } from "../workloads/discover.ts";
import { prepareCapture } from "./capture.ts";
import { type EngineContext, lockWorkload } from "./context.ts";
import { archiveLocation, localRecipients, snapshotRow } from "./snapshot_file.ts";
import { newId, OLD_MARK } from "./paths.ts";
import { removeOwnTree } from "./swap.ts";
import { planRestore, prepareRestore } from "./restore.ts";
import { applyRetention, removeArchiveFile, retentionPolicy } from "../retention/prune.ts";
import type { Engine, OpContext, PreparedOperation, SnapshotView, VerifyResult } from "./types.ts";
import { locationsFor } from "../remote/service.ts";
import { manifestsAgree, sidecarDisagrees } from "../remote/sidecar.ts";

/** The engine over the process's one context (built once by the composition root). */
export function createEngine(ctx: EngineContext): Engine {
  return {
    async health() {
      try {
        const v = await ctx.docker.version();
        return { docker: true, dockerVersion: v.version };
      } catch {
        return { docker: false };
      }
    },
    listWorkloads: () => discoverWorkloads(ctx.docker, ctx.discovery),
    async getWorkload(wid) {
      const w = await findWorkload(ctx.docker, wid, ctx.discovery);
      const { error } = retentionPolicy(ctx.config, w.containers);
      return error ? { ...w, retentionError: error } : w;
    },
    listSnapshots: async (wid) => withLocations(ctx, await ctx.catalog.listSnapshots(wid)),
    getSnapshot: async (sid) => (await withLocations(ctx, [await snapshotOrThrow(ctx, sid)]))[0],
    async deleteSnapshot(sid) {
      const row = await snapshotOrThrow(ctx, sid);
      if (ctx.locks.isHeld(row.workload)) {
        throw new AppError(
          "workload_busy",
          `workload "${row.workload}" is busy; retry when its operation ends`,
        );
      }
      if (row.file) await removeArchiveFile(join(ctx.paths.archives, row.file));
      await ctx.remote?.forget(row);
      await ctx.catalog.deleteSnapshot(sid);
      await ctx.event("snapshot_deleted", `snapshot ${sid} deleted`, row.workload, {
        snapshotId: sid,
      });
      if (isFramedFile(row.file)) await reclaimFrames(ctx);
    },
    async openArchive(sid) {
      const row = await snapshotOrThrow(ctx, sid);
      // No local file: streamed from the bucket, failing at the end on a wrong sha256.
      const { size, stream } = !row.file && ctx.remote
        ? { size: row.sizeBytes, stream: await ctx.remote.openArchive(row, true) }
        : await openLocalArchive(ctx, row);
      return {
        stream,
        sizeBytes: size,
        sha256: row.sha256,
        fileName: `${row.workload}-${row.id}${archiveExtension(row.compression as "zstd")}`,
      };
    },
    prepareCapture: (wid, req) => prepareCapture(ctx, wid, req),
    planRestore: (wid, req) => planRestore(ctx, wid, req),
    prepareRestore: (wid, req) => prepareRestore(ctx, wid, req),
    prepareImport: (wid, body, contentLength) => prepareImport(ctx, wid, body, contentLength),
    prepareVerify: (sid) => prepareVerify(ctx, sid),
    listLeftovers: (workload) => ctx.catalog.listLeftovers(workload),
    deleteLeftover: (id) => deleteLeftover(ctx, id),
    async storage() {
      return storageInfo(await frameStoreAt(ctx.paths.root), await ctx.catalog.listAllSnapshots());
    },
  };
}

/** Adds `locations` (SPEC §13) to catalog rows. */
async function withLocations(ctx: EngineContext, rows: SnapshotRow[]): Promise<SnapshotView[]> {
  if (!ctx.remote) return rows.map((r) => ({ ...r, locations: locationsFor(r, undefined, false) }));
  const locs = await ctx.remote.locationsOf(rows);
  return rows.map((r) => ({ ...r, locations: locs.get(r.id) ?? [] }));
}

async function deleteLeftover(ctx: EngineContext, id: string): Promise<void> {
  const row = await ctx.catalog.getLeftover(id);
  if (!row) throw notFound(`leftover "${id}"`);
  if (ctx.locks.isHeld(row.workload)) {
    throw new AppError(
      "workload_busy",
      `workload "${row.workload}" is busy; retry when its operation ends`,
    );
  }
  // removeOwnTree refuses any path that is not a volsnap old dir.
  await removeOwnTree(row.path, OLD_MARK);
  await ctx.catalog.deleteLeftover(id);
  await ctx.event("leftover_deleted", `old data kept at ${row.path} deleted`, row.workload, {
    leftoverId: id,
    path: row.path,
  });
}

async function snapshotOrThrow(ctx: EngineContext, sid: string): Promise<SnapshotRow> {
  const row = await ctx.catalog.getSnapshot(sid);
  if (!row) throw notFound(`snapshot "${sid}"`);
  return row;
}

async function prepareImport(
  ctx: EngineContext,
  wid: string,
  body: ReadableStream<Uint8Array>,
  contentLength?: number,
): Promise<PreparedOperation<SnapshotRow>> {
  if (contentLength !== undefined && contentLength > ctx.limits.maxUploadBytes) {
    throw new AppError(
      "too_large",
      `upload of ${contentLength} bytes exceeds the limit of ${ctx.limits.maxUploadBytes}`,
    );
  }
  // An import adds a snapshot and prunes: one mutating operation per workload.
  const { workload, release } = await lockWorkload(ctx, wid, "an import");
  return {
    kind: "import",
    workload: wid,
    cancel: release,
    run: async (op) => {
      try {
        return await runImport(ctx, wid, workload.containers, body, contentLength, op);
      } finally {
        release();
      }
    },
  };
}

async function runImport(
  ctx: EngineContext,
  wid: string,
  containers: Workload["containers"],
  body: ReadableStream<Uint8Array>,
  contentLength: number | undefined,
  op: OpContext,
): Promise<SnapshotRow> {
  const now = ctx.clock.now();
  const id = newId("", now);
  await Deno.mkdir(join(ctx.paths.archives, wid), { recursive: true, mode: 0o700 });
  // The compression is only known after reading; write under a neutral name, then rename.
  const tmpFinal = join(ctx.paths.archives, wid, `${id}.import`);
  op.progress({ phase: "uploading", bytesDone: 0, bytesTotal: contentLength });
  let result;
  try {
    result = await importArchive({
      body,
      finalPath: tmpFinal,
      limits: ctx.limits,
      onProgress: (n) => op.progress({ bytesDone: n }),
    });
  } catch (err) {
    await ctx.event("import_rejected", `import into ${wid} rejected: ${errMessage(err)}`, wid);
    throw err;
  }
  const encryptFor = localRecipients(ctx);
  const { file, finalPath } = await archiveLocation(ctx, wid, id, result.compression, !!encryptFor);
  if (encryptFor) await encryptFileDurable(tmpFinal, finalPath, encryptFor);
  else await renameDurable(tmpFinal, finalPath);
  const row = snapshotRow(ctx, {
    id,
    workload: wid,
    createdAt: now.toISOString(),
    origin: "imported",
    label: "imported",
    compression: result.compression,
    file,
    stats: result.stats,
    manifest: result.manifest,
    quiesce: result.manifest.quiesce,
    downtimeMs: null,
    consistent: true,
    warnings: result.stats.warnings,
    verifiedAt: now.toISOString(), // validated completely on the way in
  });
  await ctx.catalog.insertSnapshot(row);
  await ctx.event("snapshot_imported", `snapshot ${id} imported into ${wid}`, wid, {
    snapshotId: id,
    originalId: result.manifest.snapshotId,
    originalWorkload: result.manifest.workload,
  });
  await applyRetention(ctx, wid, containers);
  ctx.remote?.enqueue(row);
  return row;
}

async function prepareVerify(
  ctx: EngineContext,
  sid: string,
): Promise<PreparedOperation<VerifyResult>> {
  const row = await snapshotOrThrow(ctx, sid);
  return {
    kind: "verify",
    workload: row.workload,
    snapshotId: sid,
    cancel: () => {},
    run: async (op) => {
      op.progress({ phase: "verifying", bytesDone: 0, bytesTotal: row.uncompressedBytes });
      const at = ctx.clock.now().toISOString();
      try {
        const fromBucket = !row.file && !!ctx.remote;
        const { stats, manifest } = fromBucket
          ? await verifyArchiveStream(
            await ctx.remote!.openArchive(row, false),
            row.sha256,
            ctx.limits,
            (n) => op.progress({ bytesDone: n }),
          )
          : isFramedFile(row.file) || isAgeFile(row.file)
          ? await verifyArchiveStream(
            (await openLocalArchive(ctx, row)).stream,
            row.sha256,
            ctx.limits,
            (n) => op.progress({ bytesDone: n }),
          )
          : await verifyArchiveFile(
            join(ctx.paths.archives, row.file),
            row.sha256,
            ctx.limits,
            (n) => op.progress({ bytesDone: n }),
          );
        // A row adopted from a sidecar must describe the archive it stands for.
        if (fromBucket && !manifestsAgree(row.manifest, manifest)) throw sidecarDisagrees(sid);
        await ctx.catalog.recordVerify(sid, at, true);
        await ctx.event("snapshot_verified", `snapshot ${sid} verified ok`, row.workload, {
          snapshotId: sid,
        });
        return {
          snapshotId: sid,
          ok: true,
          sha256: stats.sha256,
          fileCount: stats.fileCount,
          uncompressedBytes: stats.uncompressedBytes,
          verifiedAt: at,
        };
      } catch (err) {
        const error = errMessage(err);
        await ctx.catalog.recordVerify(sid, at, false, error);
        await ctx.event(
          "snapshot_verify_failed",
          `snapshot ${sid} failed verification: ${error}`,
          row.workload,
        );
        return {
          snapshotId: sid,
          ok: false,
          sha256: "",
          fileCount: 0,
          uncompressedBytes: 0,
          error,
          verifiedAt: at,
        };
      }
    },
  };
}
