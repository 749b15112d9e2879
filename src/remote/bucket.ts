/**
 * What the bucket holds, read from the sidecars (SPEC §13): the listing of
 * every host's snapshots, and their adoption into this host's catalog. A
 * sidecar is untrusted input (sidecar.ts parses it strictly) and is adopted
 * only when the archive beside it has the size and the manifest it claims.
 */
import { AppError, errMessage } from "../core/errors.ts";
import type { Manifest } from "../core/model.ts";
import { decryptStream } from "../crypto/age.ts";
import { getBytes, StorageError } from "../storage/store.ts";
import { readManifestFromStream } from "../unpack/manifest_check.ts";
import { manifestsAgree, parseSidecar, type Sidecar, sidecarDisagrees } from "./sidecar.ts";
import type { RemoteContext, RemoteListing } from "./types.ts";

/** Every snapshot the bucket holds (all hosts), from the sidecars. */
export async function listBucket(rc: RemoteContext): Promise<
  { snapshots: RemoteListing[]; invalid: { key: string; reason: string }[] }
> {
  const { sidecars, invalid } = await readSidecars(rc);
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
      inCatalog: !!(await rc.catalog.getSnapshot(s.snapshot.id)),
    });
  }
  out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  return { snapshots: out, invalid };
}

/**
 * Adopts the bucket's snapshots into this host's catalog (origin `remote`,
 * no local file). Only this host's own unless `host` names another ("*": all).
 */
export async function syncBucket(rc: RemoteContext, opts: { host?: string }) {
  const want = opts.host ?? rc.catalog.host;
  const { sidecars, invalid } = await readSidecars(rc);
  const adopted: string[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const s of sidecars) {
    if (want !== "*" && s.host !== want) continue;
    if (await rc.catalog.getSnapshot(s.snapshot.id)) continue;
    const obj = await mapStorage(() => rc.store.stat(s.object.key));
    if (!obj || obj.size !== s.object.sizeBytes) {
      skipped.push({
        id: s.snapshot.id,
        reason: obj ? "object size differs from its sidecar" : "object missing",
      });
      continue;
    }
    // The sidecar is adopted only if it describes its archive (the restore checks again).
    let archived: Manifest | undefined;
    try {
      archived = await objectManifest(rc, s.object.key, s.object.encrypted);
    } catch (err) {
      skipped.push({ id: s.snapshot.id, reason: `archive unreadable: ${errMessage(err)}` });
      continue;
    }
    if (archived && !manifestsAgree(s.manifest, archived)) {
      rc.log.warn("sidecar disagrees with its archive; not adopted", { key: s.object.key });
      skipped.push({ id: s.snapshot.id, reason: sidecarDisagrees(s.snapshot.id).message });
      continue;
    }
    try {
      await rc.catalog.insertSnapshot({
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
    await rc.catalog.upsertRemoteCopy({
      snapshotId: s.snapshot.id,
      location: rc.location,
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
    await rc.event(
      "snapshot_adopted",
      `snapshot ${s.snapshot.id} adopted from ${rc.store.describe}`,
      s.snapshot.workload,
      {
        snapshotId: s.snapshot.id,
        fromHost: s.host,
      },
    );
  }
  return { adopted, skipped, invalid };
}

/** An object's manifest; undefined when it is encrypted and no identity is configured. */
async function objectManifest(
  rc: RemoteContext,
  key: string,
  encrypted: boolean,
): Promise<Manifest | undefined> {
  if (encrypted && !rc.age?.identityFile) return undefined;
  const raw = await mapStorage(() => rc.store.get(key));
  return await readManifestFromStream(
    encrypted ? decryptStream(raw, rc.age?.identityFile) : raw,
  );
}

async function readSidecars(rc: RemoteContext): Promise<
  { sidecars: Sidecar[]; invalid: { key: string; reason: string }[] }
> {
  const prefix = rc.config.prefix;
  const objects = await mapStorage(() => rc.store.list(prefix ? prefix + "/" : ""));
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
      await mapStorage(() => getBytes(rc.store, o.key)),
      prefix,
    );
    if (typeof parsed === "string") invalid.push({ key: o.key, reason: parsed });
    else sidecars.push(parsed);
  }
  return { sidecars, invalid };
}

/** Storage errors as API errors (503 when the remote cannot be reached). */
export async function mapStorage<T>(fn: () => Promise<T>): Promise<T> {
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
