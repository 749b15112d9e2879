/**
 * A hand-written Engine for route and CLI tests. Every method is a function
 * field so a test can replace it to inject a failure; the defaults serve one
 * workload ("app") and the snapshots in `snapshots`.
 */
import type { LeftoverRow, SnapshotRow } from "../../db/catalog.ts";
import type {
  ArchiveDownload,
  CaptureRequest,
  Engine,
  OpContext,
  PreparedOperation,
  RestorePlan,
  RestoreRequest,
  RestoreResult,
  VerifyResult,
} from "../../src/engine/types.ts";
import { notFound } from "../../src/core/errors.ts";
import type { Workload } from "../../src/core/model.ts";

export function fakeWorkload(id = "app"): Workload {
  return {
    id,
    containers: [
      { id: "c1", name: `${id}-db-1`, state: "running", labels: {}, service: "db", dependsOn: [] },
    ],
    volumes: [{
      key: "volume:app_data",
      type: "volume",
      name: "app_data",
      hostPath: "/var/lib/docker/volumes/app_data/_data",
      destinations: [{ container: `${id}-db-1`, destination: "/data", readOnly: false }],
    }],
    skipped: [{
      container: `${id}-db-1`,
      destination: "/tmp",
      type: "tmpfs",
      reason: "holds no persistent data",
    }],
  };
}

export function fakeSnapshot(id: string, over: Partial<SnapshotRow> = {}): SnapshotRow {
  return {
    id,
    host: "h_test",
    workload: "app",
    createdAt: "2026-11-22T05:00:00.000Z",
    origin: "capture",
    label: null,
    status: "complete",
    compression: "zstd",
    file: `${id}.tar.zst`,
    sizeBytes: 11,
    uncompressedBytes: 2048,
    fileCount: 3,
    skippedSpecial: 0,
    sha256: "ab".repeat(32),
    quiesce: "stop",
    downtimeMs: 1234,
    consistent: true,
    warnings: [],
    manifest: { format: "volsnap/1", snapshotId: id },
    lastVerifiedAt: null,
    lastVerifyOk: null,
    lastVerifyError: null,
    pinned: false,
    durationMs: null,
    contentDigest: null,
    lastDrillAt: null,
    lastDrillOk: null,
    lastDrillError: null,
    frameCount: null,
    storedBytes: null,
    sharedBytes: null,
    parentId: null,
    fullReason: null,
    ...over,
  };
}

/** A prepared operation whose body is `body`; records run/cancel calls. */
export function fakeOp<T>(
  kind: PreparedOperation<T>["kind"],
  body: (ctx: OpContext) => Promise<T>,
  extra: { workload?: string; snapshotId?: string } = {},
): PreparedOperation<T> & { ran: boolean; cancelled: boolean } {
  const op = {
    kind,
    ...extra,
    ran: false,
    cancelled: false,
    run(ctx: OpContext) {
      op.ran = true;
      return body(ctx);
    },
    cancel() {
      op.cancelled = true;
    },
  };
  return op;
}

export const ARCHIVE_BYTES = new TextEncoder().encode("hello world");

export class FakeEngine implements Engine {
  workloads: Workload[] = [fakeWorkload("app")];
  snapshots: SnapshotRow[] = [fakeSnapshot("snap_1")];
  /** Calls seen, for assertions: [method, ...args]. */
  calls: unknown[][] = [];
  /** Bytes the last import read from its body. */
  importedBytes = 0;

  health: Engine["health"] = () => Promise.resolve({ docker: true, dockerVersion: "20.10.24" });

  listWorkloads: Engine["listWorkloads"] = () => Promise.resolve(this.workloads);

  getWorkload: Engine["getWorkload"] = (wid) => {
    const w = this.workloads.find((x) => x.id === wid);
    return w ? Promise.resolve(w) : Promise.reject(notFound(`workload ${wid}`));
  };

  listSnapshots: Engine["listSnapshots"] = (wid) =>
    Promise.resolve(this.snapshots.filter((s) => s.workload === wid));

  getSnapshot: Engine["getSnapshot"] = (sid) => {
    const s = this.snapshots.find((x) => x.id === sid);
    return s ? Promise.resolve(s) : Promise.reject(notFound(`snapshot ${sid}`));
  };

  leftovers: LeftoverRow[] = [];

  listLeftovers: Engine["listLeftovers"] = (workload) =>
    Promise.resolve(this.leftovers.filter((l) => !workload || l.workload === workload));

  deleteLeftover: Engine["deleteLeftover"] = (id) => {
    if (!this.leftovers.some((l) => l.id === id)) return Promise.reject(notFound(`leftover ${id}`));
    this.calls.push(["deleteLeftover", id]);
    this.leftovers = this.leftovers.filter((l) => l.id !== id);
    return Promise.resolve();
  };

  deleteSnapshot: Engine["deleteSnapshot"] = async (sid) => {
    await this.getSnapshot(sid);
    this.calls.push(["deleteSnapshot", sid]);
    this.snapshots = this.snapshots.filter((s) => s.id !== sid);
  };

  openArchive: Engine["openArchive"] = async (sid): Promise<ArchiveDownload> => {
    const s = await this.getSnapshot(sid);
    this.calls.push(["openArchive", sid]);
    return {
      stream: ReadableStream.from([ARCHIVE_BYTES]),
      sizeBytes: ARCHIVE_BYTES.length,
      sha256: s.sha256,
      fileName: s.file,
    };
  };

  prepareCapture: Engine["prepareCapture"] = async (wid: string, req: CaptureRequest) => {
    await this.getWorkload(wid);
    this.calls.push(["prepareCapture", wid, req]);
    return fakeOp("capture", async (ctx) => {
      ctx.progress({ phase: "archiving", bytesDone: 5, bytesTotal: 10 });
      await Promise.resolve();
      const row = fakeSnapshot(`snap_${this.snapshots.length + 1}`, {
        workload: wid,
        label: req.label ?? null,
      });
      this.snapshots.push(row);
      return row;
    }, { workload: wid });
  };

  planRestore: Engine["planRestore"] = async (wid, req): Promise<RestorePlan> => {
    await this.getWorkload(wid);
    await this.getSnapshot(req.snapshotId);
    this.calls.push(["planRestore", wid, req]);
    return {
      snapshotId: req.snapshotId,
      workload: wid,
      foreign: false,
      volumes: [],
      space: [],
      containersToStop: ["app-db-1"],
    };
  };

  prepareRestore: Engine["prepareRestore"] = async (wid, req: RestoreRequest) => {
    await this.getWorkload(wid);
    await this.getSnapshot(req.snapshotId);
    this.calls.push(["prepareRestore", wid, req]);
    return fakeOp<RestoreResult>("restore", () =>
      Promise.resolve({
        snapshotId: req.snapshotId,
        workload: wid,
        volumes: ["volume:app_data"],
        downtimeMs: 42,
        preRestoreSnapshotId: "snap_pre",
      }), { workload: wid, snapshotId: req.snapshotId });
  };

  prepareImport: Engine["prepareImport"] = async (wid, body, contentLength) => {
    await this.getWorkload(wid);
    this.calls.push(["prepareImport", wid, contentLength]);
    return fakeOp("import", async (ctx) => {
      let n = 0;
      for await (const chunk of body) {
        n += chunk.byteLength;
        ctx.progress({ phase: "reading", bytesDone: n, bytesTotal: contentLength });
      }
      this.importedBytes = n;
      const row = fakeSnapshot(`snap_imp${this.snapshots.length + 1}`, {
        workload: wid,
        origin: "imported",
        sizeBytes: n,
      });
      this.snapshots.push(row);
      return row;
    }, { workload: wid });
  };

  storage: Engine["storage"] = () =>
    Promise.resolve({
      storeBytes: 100,
      frameCount: 4,
      packCount: 1,
      packBytes: 100,
      framedSnapshots: 2,
      logicalBytes: 180,
      dedupRatio: 1.8,
      fileSnapshots: 0,
      fileBytes: 0,
    });

  prepareVerify: Engine["prepareVerify"] = async (sid) => {
    const s = await this.getSnapshot(sid);
    this.calls.push(["prepareVerify", sid]);
    return fakeOp<VerifyResult>("verify", () =>
      Promise.resolve({
        snapshotId: sid,
        ok: true,
        sha256: s.sha256,
        fileCount: s.fileCount,
        uncompressedBytes: s.uncompressedBytes,
        verifiedAt: "2026-11-22T06:00:00.000Z",
      }), { snapshotId: sid, workload: s.workload });
  };
}
