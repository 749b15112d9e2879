/**
 * Where a restore reads its archive from: the local file (hashed in full by
 * the pre-flight, as before), or, for a snapshot that has no local file, the
 * off-host copy streamed from the bucket (SPEC §13). The bucket's bytes are
 * checked as they stream: staging hashes them against the catalog's sha256
 * and a mismatch at the end discards the staging before anything is swapped.
 */
import { join } from "node:path";
import type { SnapshotRow } from "../../db/catalog.ts";
import { zstdFrameChecksummed } from "../compression/decompress.ts";
import { AppError } from "../core/errors.ts";
import type { Manifest } from "../core/model.ts";
import { sha256File } from "../hash/file_hash.ts";
import { readManifestFromFile, readManifestFromStream } from "../unpack/manifest_check.ts";
import { isFramedFile } from "../frames/snapshot_frames.ts";
import { openSnapshotStream, sha256OfSnapshot } from "../frames/snapshot_stream.ts";
import type { EngineContext } from "./context.ts";
import { isAgeFile } from "../crypto/age.ts";
import { openLocalArchive } from "./local_archive.ts";

export interface RestoreSource {
  /** The local archive; "" when streamed from off-host storage. */
  archivePath: string;
  manifest: Manifest;
  /** False when decoding checks the content by itself (a zstd frame checksum). */
  stagingMustHash: boolean;
  /** Set for an off-host source: opens the plaintext archive stream. */
  open?: () => Promise<ReadableStream<Uint8Array>>;
}

export async function restoreSource(ctx: EngineContext, row: SnapshotRow): Promise<RestoreSource> {
  if (!row.file && ctx.remote) {
    const remote = ctx.remote;
    // The row was adopted from a sidecar: the plan uses the archive's own
    // manifest, and only if the sidecar's is the same (else integrity_error).
    return {
      archivePath: "",
      manifest: await remote.archiveManifest(row, ctx.limits),
      stagingMustHash: true,
      open: () => remote.openArchive(row, false),
    };
  }
  if (!row.file) {
    throw new AppError("not_found", `snapshot ${row.id} has no local file`, {
      hint: "configure VOLSNAP_REMOTE to restore it from off-host storage",
    });
  }
  if (isFramedFile(row.file)) {
    // Kept as frames (SPEC §15): the stream is hashed in full here; every
    // frame carries a zstd content checksum for staging.
    const actual = await sha256OfSnapshot(ctx, row);
    if (actual !== row.sha256) {
      throw new AppError(
        "integrity_error",
        `snapshot ${row.id} is corrupt: its frames read with sha256 ${actual} != recorded ${row.sha256}`,
      );
    }
    const open = async () => (await openSnapshotStream(ctx, row)).stream;
    return {
      archivePath: "",
      manifest: await readManifestFromStream(await open(), ctx.limits),
      stagingMustHash: false,
      open,
    };
  }
  if (isAgeFile(row.file)) {
    // Kept encrypted (VOLSNAP_ENCRYPT_LOCAL): decrypted as it streams, and
    // staging hashes the plain stream against the catalog's sha256 (a
    // mismatch at the end discards the staging). Reading the manifest here
    // proves the identity opens it; without one this fails with a hint.
    const open = async () => (await openLocalArchive(ctx, row)).stream;
    return {
      archivePath: "",
      manifest: await readManifestFromStream(await open(), ctx.limits),
      stagingMustHash: true,
      open,
    };
  }
  const archivePath = join(ctx.paths.archives, row.file);
  let actual: string;
  try {
    actual = await sha256File(archivePath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new AppError("not_found", `archive file of snapshot ${row.id} is missing`);
    }
    throw err;
  }
  if (actual !== row.sha256) {
    throw new AppError(
      "integrity_error",
      `archive of snapshot ${row.id} is corrupt: sha256 ${actual} != recorded ${row.sha256}`,
    );
  }
  return {
    archivePath,
    manifest: await readManifestFromFile(archivePath, ctx.limits),
    stagingMustHash: !(await zstdFrameChecksummed(archivePath)),
  };
}
