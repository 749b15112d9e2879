/**
 * Off-host copies as a service of the running server (SPEC §13): a single
 * worker copies snapshots one at a time (copier.ts) after each capture or
 * import, resumes the copies a crash interrupted, retries failed ones with
 * backoff, and answers what the bucket holds. Everything is scoped to this
 * host: its own copy rows, and objects whose sidecar names another host are
 * never deleted or adopted unless the operator asks (`sync({host})`).
 */
import { createHash } from "node:crypto";
import type { RemoteCopyRow, SnapshotRow } from "../../db/catalog.ts";
import { AppError, errMessage } from "../core/errors.ts";
import { decryptStream } from "../crypto/age.ts";
import { getBytes, StorageError } from "../storage/store.ts";
import { copySnapshot } from "./copier.ts";
import type { Location, RemoteContext, RemoteDeps, RemoteListing } from "./types.ts";
import { locationsFor } from "./locations.ts";
import { checkSha256, onError } from "./stream_checks.ts";

export type { Location, RemoteContext, RemoteDeps, RemoteListing };
export { locationsFor };
import { openStore } from "./open_store.ts";
import { parseSidecar, type Sidecar } from "./sidecar.ts";

export class RemoteService {
  readonly rc: RemoteContext;
  #queue = new Set<string>();
  #wake?: () => void;
  #stopped = false;
  #loop?: Promise<void>;
  #busy?: string;

  constructor(deps: RemoteDeps) {
    const store = deps.store ?? openStore(deps.config);
    this.rc = {
      ...deps,
      store,
      location: deps.config.url,
      forgetObjects: (copy) => this.#deleteObjects(copy),
    };
  }

  get location(): string {
    return this.rc.location;
  }

  /** Resumes interrupted copies, queues snapshots without one, starts the worker. */
  async start(): Promise<void> {
    const copies = new Map(
      (await this.rc.catalog.listRemoteCopies(this.location)).map((c) => [c.snapshotId, c]),
    );
    for (const s of await this.rc.catalog.listAllSnapshots()) {
      const c = copies.get(s.id);
      if (s.file && s.status === "complete" && (!c || c.state === "uploading")) {
        this.#queue.add(s.id);
      }
    }
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
  }

  /** Queues the copy of a new snapshot; never waits for it, never throws. */
  enqueue(snap: Pick<SnapshotRow, "id">): void {
    this.#queue.add(snap.id);
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const next = await this.#nextDue();
      if (next.id) {
        this.#queue.delete(next.id);
        this.#busy = next.id;
        try {
          await this.#copyOne(next.id);
        } catch (err) {
          this.rc.log.error("off-host copy crashed", {
            snapshotId: next.id,
            error: errMessage(err),
          });
        } finally {
          this.#busy = undefined;
        }
        continue;
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(next.waitMs, 60_000));
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = undefined;
    }
  }

  async #nextDue(): Promise<{ id?: string; waitMs: number }> {
    const [first] = this.#queue;
    if (first) return { id: first, waitMs: 0 };
    const now = this.rc.clock.now().getTime();
    let waitMs = 60_000;
    for (const c of await this.rc.catalog.listRemoteCopies(this.location)) {
      if (c.state !== "pending") continue;
      const due = c.nextAttemptAt ? Date.parse(c.nextAttemptAt) - now : 0;
      if (due <= 0) return { id: c.snapshotId, waitMs: 0 };
      waitMs = Math.min(waitMs, due);
    }
    return { waitMs };
  }

  async #copyOne(id: string): Promise<void> {
    const snap = await this.rc.catalog.getSnapshot(id);
    if (!snap || !snap.file || snap.status !== "complete") return;
    const t0 = performance.now();
    const r = await copySnapshot(this.rc, snap);
    if (r.ok) {
      await this.rc.event(
        "upload_completed",
        `snapshot ${id} copied to ${this.rc.store.describe}`,
        snap.workload,
        {
          snapshotId: id,
          sizeBytes: r.row.sizeBytes,
          encrypted: r.row.encrypted,
          ms: Math.round(performance.now() - t0),
        },
      );
      await this.trimLocal(snap.workload);
      return;
    }
    const copy = await this.rc.catalog.getRemoteCopy(id, this.location);
    this.rc.log.warn("off-host copy failed", {
      snapshotId: id,
      error: r.error,
      attempts: copy?.attempts,
    });
    if ((copy?.attempts ?? 1) <= 1 || r.permanent) {
      await this.rc.event(
        "upload_failed",
        `off-host copy of snapshot ${id} failed${r.permanent ? "" : " (will retry)"}: ${r.error}`,
        snap.workload,
        { snapshotId: id, permanent: r.permanent },
      );
      this.rc.onCopyFailed?.(snap, r.error);
    }
  }

  /** Copies still owed (pending, uploading or queued): the metric of SPEC §12. */
  async pendingCount(): Promise<number> {
    const copies = await this.rc.catalog.listRemoteCopies(this.location);
    const owed = new Set(
      copies.filter((c) => c.state === "pending" || c.state === "uploading").map((c) =>
        c.snapshotId
      ),
    );
    for (const id of this.#queue) owed.add(id);
    return owed.size;
  }

  /** `locations` of the snapshot JSON. */
  async locationsOf(rows: SnapshotRow[]): Promise<Map<string, Location[]>> {
    const copies = new Map(
      (await this.rc.catalog.listRemoteCopies(this.location)).map((c) => [c.snapshotId, c]),
    );
    return new Map(
      rows.map((r) => [r.id, locationsFor(r, copies.get(r.id), this.#queue.has(r.id))]),
    );
  }

  /** Every snapshot the bucket holds (all hosts), from the sidecars. */
  async listRemote(): Promise<
    { snapshots: RemoteListing[]; invalid: { key: string; reason: string }[] }
  > {
    const { sidecars, invalid } = await this.#readSidecars();
    const out: RemoteListing[] = [];
    for (const s of sidecars) {
      out.push({
        key: s.object.key,
        id: s.snapshot.id,
        workload: s.snapshot.workload,
        host: s.host,
        createdAt: s.snapshot.createdAt,
        origin: s.snapshot.origin,
        sizeBytes: s.object.sizeBytes,
        encrypted: s.object.encrypted,
        inCatalog: !!(await this.rc.catalog.getSnapshot(s.snapshot.id)),
      });
    }
    out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    return { snapshots: out, invalid };
  }

  /**
   * Adopts the bucket's snapshots into this host's catalog (origin `remote`,
   * no local file). Only this host's own unless `host` names another ("*": all).
   */
  async sync(opts: { host?: string } = {}) {
    const want = opts.host ?? this.rc.catalog.host;
    const { sidecars, invalid } = await this.#readSidecars();
    const adopted: string[] = [];
    const skipped: { id: string; reason: string }[] = [];
    for (const s of sidecars) {
      if (want !== "*" && s.host !== want) continue;
      if (await this.rc.catalog.getSnapshot(s.snapshot.id)) continue;
      const obj = await this.#mapped(() => this.rc.store.stat(s.object.key));
      if (!obj || obj.size !== s.object.sizeBytes) {
        skipped.push({
          id: s.snapshot.id,
          reason: obj ? "object size differs from its sidecar" : "object missing",
        });
        continue;
      }
      try {
        await this.rc.catalog.insertSnapshot({
          ...s.snapshot,
          origin: "remote",
          status: "complete",
          file: "",
          manifest: s.manifest,
          lastVerifiedAt: null,
          lastVerifyOk: null,
          lastVerifyError: null,
          pinned: false,
        });
      } catch (err) {
        skipped.push({
          id: s.snapshot.id,
          reason: `cannot add to the catalog: ${errMessage(err)}`,
        });
        continue;
      }
      await this.rc.catalog.upsertRemoteCopy({
        snapshotId: s.snapshot.id,
        location: this.location,
        state: "present",
        objectKey: s.object.key,
        ownerHost: s.host,
        encrypted: s.object.encrypted,
        sizeBytes: s.object.sizeBytes,
        objectSha256: s.object.sha256,
        attempts: 0,
        lastError: null,
        nextAttemptAt: null,
        checkpoint: null,
        uploadedAt: null,
      });
      adopted.push(s.snapshot.id);
      await this.rc.event(
        "snapshot_adopted",
        `snapshot ${s.snapshot.id} adopted from ${this.rc.store.describe}`,
        s.snapshot.workload,
        {
          snapshotId: s.snapshot.id,
          fromHost: s.host,
        },
      );
    }
    return { adopted, skipped, invalid };
  }

  async hasCopy(id: string): Promise<boolean> {
    return (await this.rc.catalog.getRemoteCopy(id, this.location))?.state === "present";
  }

  /** Pre-flight of a read from the bucket: the copy exists and can be decrypted. */
  async checkReadable(row: SnapshotRow): Promise<RemoteCopyRow> {
    const copy = await this.rc.catalog.getRemoteCopy(row.id, this.location);
    if (!copy || copy.state !== "present") {
      throw new AppError("not_found", `snapshot ${row.id} has no local file and no off-host copy`);
    }
    if (copy.encrypted && !this.rc.age?.identityFile) {
      throw new AppError(
        "decryption_failed",
        `snapshot ${row.id} is age-encrypted and no identity is configured`,
        {
          hint:
            "set VOLSNAP_AGE_IDENTITY_FILE to the age identity matching the recipients it was encrypted for",
        },
      );
    }
    const st = await this.#mapped(() => this.rc.store.stat(copy.objectKey));
    if (!st) {
      throw new AppError(
        "not_found",
        `off-host object ${copy.objectKey} of snapshot ${row.id} is missing`,
      );
    }
    if (copy.sizeBytes !== null && st.size !== copy.sizeBytes) {
      throw new AppError(
        "integrity_error",
        `off-host object of snapshot ${row.id} has ${st.size} bytes, expected ${copy.sizeBytes}`,
      );
    }
    return copy;
  }

  /**
   * The snapshot's plaintext archive streamed from the bucket. With `verify`,
   * the stream fails with integrity_error at its end unless its sha256 is the
   * catalog's (restore and verify hash it themselves and pass false).
   */
  async openArchive(row: SnapshotRow, verify: boolean): Promise<ReadableStream<Uint8Array>> {
    const copy = await this.checkReadable(row);
    const raw = await this.#mapped(() => this.rc.store.get(copy.objectKey));
    let plain = raw;
    if (copy.encrypted) {
      const decrypted = decryptStream(raw, this.rc.age?.identityFile);
      // age refuses altered ciphertext; that is an integrity error when the object's hash differs.
      plain = onError(decrypted, async (err) => {
        const actual = await this.#objectSha256(copy.objectKey).catch(() => undefined);
        if (actual && copy.objectSha256 && actual !== copy.objectSha256) {
          return new AppError(
            "integrity_error",
            `off-host object of snapshot ${row.id} was altered: sha256 ${actual} != recorded ${copy.objectSha256}`,
          );
        }
        return err;
      });
    }
    return verify ? checkSha256(plain, row.sha256, row.id) : plain;
  }

  async #objectSha256(key: string): Promise<string> {
    const h = createHash("sha256");
    for await (const c of await this.rc.store.get(key)) h.update(c);
    return h.digest("hex");
  }

  /** Deletes this host's off-host copy of a snapshot (objects only if this host wrote them). */
  async forget(row: Pick<SnapshotRow, "id">): Promise<void> {
    const copy = await this.rc.catalog.getRemoteCopy(row.id, this.location);
    if (!copy) return;
    await this.#deleteObjects(copy);
    await this.rc.catalog.deleteRemoteCopy(row.id, this.location);
  }

  async #deleteObjects(copy: RemoteCopyRow): Promise<void> {
    if (copy.ownerHost !== this.rc.catalog.host) return; // never another host's objects
    const sidecar = copy.objectKey.replace(/\.tar(\.zst|\.gz)?(\.age)?$/, ".json");
    await this.#mapped(() => this.rc.store.delete(sidecar));
    await this.#mapped(() => this.rc.store.delete(copy.objectKey));
  }

  /**
   * VOLSNAP_LOCAL_KEEP_LAST: beyond the newest N local files of a workload,
   * a local file whose off-host copy is present is deleted (the row stays,
   * restorable from the bucket). Never the only copy.
   */
  async trimLocal(workload: string): Promise<string[]> {
    const keep = this.rc.localKeepLast;
    if (keep === undefined) return [];
    const rows = (await this.rc.catalog.listSnapshots(workload)).filter((r) => r.file);
    const copies = new Map(
      (await this.rc.catalog.listRemoteCopies(this.location)).map((c) => [c.snapshotId, c]),
    );
    const trimmed: string[] = [];
    for (const r of rows.slice(keep)) {
      if (copies.get(r.id)?.state !== "present" || r.pinned) continue;
      await this.rc.catalog.setSnapshotFile(r.id, "");
      await this.removeLocal(r.file);
      trimmed.push(r.id);
      await this.rc.event(
        "local_copy_pruned",
        `local file of snapshot ${r.id} pruned; the off-host copy remains`,
        workload,
        {
          snapshotId: r.id,
        },
      );
    }
    return trimmed;
  }

  /** Set by the engine: deletes a file of the archives dir. */
  removeLocal: (file: string) => Promise<void> = () => Promise.resolve();

  async #readSidecars(): Promise<
    { sidecars: Sidecar[]; invalid: { key: string; reason: string }[] }
  > {
    const prefix = this.rc.config.prefix;
    const objects = await this.#mapped(() => this.rc.store.list(prefix ? prefix + "/" : ""));
    const sidecars: Sidecar[] = [];
    const invalid: { key: string; reason: string }[] = [];
    for (const o of objects) {
      if (!o.key.endsWith(".json")) continue;
      if (o.size > 4 << 20) {
        invalid.push({ key: o.key, reason: "sidecar larger than 4 MiB" });
        continue;
      }
      const parsed = parseSidecar(
        o.key,
        await this.#mapped(() => getBytes(this.rc.store, o.key)),
        prefix,
      );
      if (typeof parsed === "string") invalid.push({ key: o.key, reason: parsed });
      else sidecars.push(parsed);
    }
    return { sidecars, invalid };
  }

  /** Storage errors as API errors (503 when the remote cannot be reached). */
  async #mapped<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      if (err.kind === "not_found") throw new AppError("not_found", err.message, { cause: err });
      if (err.kind === "invalid") throw new AppError("internal", err.message, { cause: err });
      throw new AppError("storage_unavailable", `off-host storage: ${err.message}`, {
        cause: err,
        hint: err.kind === "unauthorized"
          ? "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
          : undefined,
      });
    }
  }

  /** Snapshot id being copied right now (tests, metrics). */
  get busy(): string | undefined {
    return this.#busy;
  }
}
