/**
 * The off-host copy of one snapshot (SPEC §13):
 *
 *   row{uploading, attempts+1}          ← the journal: written before any byte is sent
 *   open the snapshot's standalone stream (skipping what a checkpoint covers)
 *   [age-encrypt] → multipart upload, row.checkpoint after every part
 *   end-to-end check (uploader) + sha256 of what was read == catalog sha256
 *   put <sid>.json sidecar
 *   row{present}                        ← only now does the copy count
 *
 * A failure leaves row{pending, nextAttemptAt, lastError}; the service retries
 * with backoff. A crash leaves row{uploading}: at start the service resumes it
 * from the checkpoint (plain archives) or restarts it (an encrypted stream is
 * never the same twice). The capture that made the snapshot never waits for
 * any of this.
 */
import { createHash } from "node:crypto";
import type { RemoteCopyRow, SnapshotRow } from "../../db/catalog.ts";
import { errMessage } from "../core/errors.ts";
import { encryptStream, isAgeFile } from "../crypto/age.ts";
import { StorageError } from "../storage/store.ts";
import { type UploadCheckpoint, uploadObject } from "../storage/upload.ts";
import { buildSidecar, objectKeys } from "./sidecar.ts";
import type { RemoteContext } from "./types.ts";

export type CopyOutcome = { ok: true; row: RemoteCopyRow } | {
  ok: false;
  error: string;
  permanent: boolean;
};

export async function copySnapshot(rc: RemoteContext, snap: SnapshotRow): Promise<CopyOutcome> {
  // A local file kept age-encrypted (VOLSNAP_ENCRYPT_LOCAL) is copied as it
  // is: no plaintext is read, and no identity is needed on this host.
  const storedEncrypted = isAgeFile(snap.file);
  const encrypted = storedEncrypted || (rc.age?.recipients.length ?? 0) > 0;
  const keys = objectKeys(rc.config.prefix, snap, encrypted);
  const prev = await rc.catalog.getRemoteCopy(snap.id, rc.location);
  if (prev?.state === "present") return { ok: true, row: prev };
  let resume = prev?.checkpoint as UploadCheckpoint | undefined;
  if (resume && (encrypted || prev?.encrypted || resume.key !== keys.archive)) {
    // An encrypted stream cannot be continued: start over, drop the old upload.
    await rc.store.abortMultipart(resume.key, resume.uploadId).catch(() => {});
    resume = undefined;
  }
  if (resume) {
    rc.log.info("resuming off-host copy", { snapshotId: snap.id, partsDone: resume.parts.length });
  }
  const attempts = (prev?.attempts ?? 0) + 1;
  await rc.catalog.upsertRemoteCopy({
    snapshotId: snap.id,
    location: rc.location,
    state: "uploading",
    objectKey: keys.archive,
    ownerHost: rc.catalog.host,
    encrypted,
    sizeBytes: null,
    objectSha256: null,
    attempts,
    lastError: prev?.lastError ?? null,
    nextAttemptAt: null,
    checkpoint: resume ?? null,
    uploadedAt: null,
  });
  await rc.fault("remote.upload_started");
  const plainHash = { bytes: 0, hash: createHash("sha256") };
  try {
    const result = await uploadObject({
      store: rc.store,
      key: keys.archive,
      resume,
      partSize: rc.partSize,
      sizeHint: snap.sizeBytes,
      // A plain object is the archive itself: its sha256 is the catalog's (the ETag check covers the transfer).
      hashSha256: encrypted,
      // Plain archive: the object is the archive, so the catalog's sha256 is the object's.
      sha256: encrypted ? undefined : snap.sha256,
      open: async (offset) => {
        const { stream } = await rc.openSnapshot(snap);
        if (storedEncrypted) return stream; // never resumed: offset is 0 (see above)
        const plain = offset > 0 ? skipBytes(stream, offset) : stream;
        return encrypted ? encryptStream(countBytes(plain, plainHash), rc.age!.recipients) : plain;
      },
      onCheckpoint: async (c) => {
        await rc.catalog.updateRemoteCopy(snap.id, rc.location, { checkpoint: c });
        await rc.fault("remote.part_uploaded");
      },
    });
    if (!encrypted && result.sha256 && result.sha256 !== snap.sha256) {
      await rc.store.delete(keys.archive).catch(() => {});
      return fail(
        rc,
        snap,
        attempts,
        `local archive changed while uploading (sha256 ${result.sha256})`,
        true,
      );
    }
    // The ciphertext of a local encrypted file cannot be checked against the
    // catalog's (plain) sha256 here; restore and verify check it after decryption.
    if (encrypted && !storedEncrypted && plainHash.hash.digest("hex") !== snap.sha256) {
      await rc.store.delete(keys.archive).catch(() => {});
      return fail(rc, snap, attempts, "the local archive does not match its catalog sha256", true);
    }
    const objectSha256 = encrypted ? result.sha256! : snap.sha256;
    const sidecar = buildSidecar(rc.catalog.host, snap, {
      key: keys.archive,
      sizeBytes: result.size,
      sha256: objectSha256,
      encrypted,
    });
    await rc.store.put(keys.sidecar, new TextEncoder().encode(JSON.stringify(sidecar, null, 1)));
    const done: RemoteCopyRow = {
      snapshotId: snap.id,
      host: rc.catalog.host,
      location: rc.location,
      state: "present",
      objectKey: keys.archive,
      ownerHost: rc.catalog.host,
      encrypted,
      sizeBytes: result.size,
      objectSha256,
      attempts,
      lastError: null,
      nextAttemptAt: null,
      checkpoint: null,
      uploadedAt: rc.clock.now().toISOString(),
    };
    await rc.catalog.upsertRemoteCopy(done);
    // Retention or a delete may have removed the snapshot meanwhile: no orphans in the bucket.
    if (!(await rc.catalog.getSnapshot(snap.id))) {
      await rc.forgetObjects(done);
      return { ok: false, error: "snapshot deleted while uploading", permanent: true };
    }
    return { ok: true, row: done };
  } catch (err) {
    const permanent = !(err instanceof StorageError) ? isPermanentLocal(err) : !err.retryable &&
      err.kind !== "unauthorized" && err.kind !== "not_found";
    return fail(rc, snap, attempts, errMessage(err), permanent);
  }
}

async function fail(
  rc: RemoteContext,
  snap: SnapshotRow,
  attempts: number,
  error: string,
  permanent: boolean,
): Promise<CopyOutcome> {
  const delay = Math.min(3_600_000, rc.config.retryBaseMs * 2 ** Math.min(attempts - 1, 16));
  await rc.catalog.updateRemoteCopy(snap.id, rc.location, {
    state: permanent ? "failed" : "pending",
    lastError: error.slice(0, 1000),
    nextAttemptAt: permanent ? null : new Date(rc.clock.now().getTime() + delay).toISOString(),
  });
  return { ok: false, error, permanent };
}

function isPermanentLocal(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound ||
    (err as { code?: string })?.code === "not_found";
}

/** Drops the first `n` bytes of a stream (resume of a plain archive). */
function skipBytes(s: ReadableStream<Uint8Array>, n: number): ReadableStream<Uint8Array> {
  let left = n;
  return s.pipeThrough(
    new TransformStream({
      transform(c, ctl) {
        if (left >= c.length) {
          left -= c.length;
          return;
        }
        ctl.enqueue(left ? c.subarray(left) : c);
        left = 0;
      },
    }),
  );
}

function countBytes(
  s: ReadableStream<Uint8Array>,
  into: { bytes: number; hash: ReturnType<typeof createHash> },
) {
  return s.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(c, ctl) {
        into.bytes += c.length;
        into.hash.update(c);
        ctl.enqueue(c);
      },
    }),
  );
}
