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
import { copySnapshot } from "./copier.ts";
import type { Location, RemoteContext, RemoteDeps, RemoteListing } from "./types.ts";
import { locationsFor } from "./locations.ts";
import { checkSha256, onError } from "./stream_checks.ts";

export type { Location, RemoteContext, RemoteDeps, RemoteListing };
export { locationsFor };
import { openStore } from "./open_store.ts";
import { manifestsAgree, sidecarDisagrees } from "./sidecar.ts";
import { readManifestFromStream } from "../unpack/manifest_check.ts";
import { listBucket, mapStorage, syncBucket } from "./bucket.ts";
import type { Manifest } from "../core/model.ts";
import type { ArchiveLimits } from "../tar/limits.ts";

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
  listRemote() {
    return listBucket(this.rc);
  }

  /**
   * Adopts the bucket's snapshots into this host's catalog (origin `remote`,
   * no local file). Only this host's own unless `host` names another ("*": all).
   */
  sync(opts: { host?: string } = {}) {
    return syncBucket(this.rc, opts);
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
    const st = await mapStorage(() => this.rc.store.stat(copy.objectKey));
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
    const raw = await mapStorage(() => this.rc.store.get(copy.objectKey));
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

  /**
   * The archive's own manifest, read from the start of the object (the rest
   * is not fetched), checked against the catalog row adopted from the
   * sidecar: a disagreement is an integrity_error.
   */
  async archiveManifest(row: SnapshotRow, limits?: ArchiveLimits): Promise<Manifest> {
    const archived = await readManifestFromStream(await this.openArchive(row, false), limits);
    if (!manifestsAgree(row.manifest, archived)) throw sidecarDisagrees(row.id);
    return archived;
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
    await mapStorage(() => this.rc.store.delete(sidecar));
    await mapStorage(() => this.rc.store.delete(copy.objectKey));
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

  /** Snapshot id being copied right now (tests, metrics). */
  get busy(): string | undefined {
    return this.#busy;
  }
}
