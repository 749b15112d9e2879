/**
 * A snapshot's standalone stream read from this host, whatever form it is
 * kept in: a plain archive file or frames (frames/snapshot_stream.ts), or an
 * age-encrypted archive file (VOLSNAP_ENCRYPT_LOCAL), which is decrypted
 * with VOLSNAP_AGE_IDENTITY_FILE on the way. Download, verify, restore and
 * drill read through here; the off-host copier takes the ciphertext as it is
 * (`openStored`), so a host that holds only the recipients can copy it.
 */
import { join } from "node:path";
import type { SnapshotRow } from "../../db/catalog.ts";
import { notFound } from "../core/errors.ts";
import { ageToFile, decryptStream, isAgeFile } from "../crypto/age.ts";
import { openDurableWriter } from "../fs/durable.ts";
import { openSnapshotStream, type SnapshotStream } from "../frames/snapshot_stream.ts";
import type { EngineContext } from "./context.ts";

type Row = Pick<SnapshotRow, "id" | "file" | "sizeBytes">;

/** The plain standalone stream. An encrypted file without an identity: decryption_failed + hint. */
export async function openLocalArchive(ctx: EngineContext, row: Row): Promise<SnapshotStream> {
  if (!isAgeFile(row.file)) return await openSnapshotStream(ctx, row);
  const { stream } = await openStored(ctx, row);
  // sizeBytes is the plain archive's (pack/writer.ts `encryptFor`).
  return { size: row.sizeBytes, stream: decryptStream(stream, ctx.config.age?.identityFile) };
}

/**
 * The stored bytes: for an encrypted file its ciphertext (`encrypted`),
 * otherwise the same as openLocalArchive.
 */
export async function openStored(
  ctx: EngineContext,
  row: Row,
): Promise<SnapshotStream & { encrypted: boolean }> {
  if (!isAgeFile(row.file)) return { ...(await openSnapshotStream(ctx, row)), encrypted: false };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(ctx.paths.archives, row.file), { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw notFound(`archive file of snapshot ${row.id}`);
    throw err;
  }
  try {
    return { size: (await file.stat()).size, stream: file.readable, encrypted: true };
  } catch (err) {
    file.close();
    throw err;
  }
}

/**
 * Turns a plain archive file into a durable age-encrypted one at
 * `finalPath` (an import under VOLSNAP_ENCRYPT_LOCAL), then removes the
 * plain file. A crash in between leaves only temp files the sweep removes.
 */
export async function encryptFileDurable(
  plainPath: string,
  finalPath: string,
  recipients: string[],
): Promise<void> {
  const out = await openDurableWriter(finalPath, 0o600);
  const age = ageToFile(recipients, out.tempPath);
  try {
    using file = await Deno.open(plainPath, { read: true });
    const buf = new Uint8Array(1 << 20);
    for (let n: number | null; (n = await file.read(buf)) !== null;) {
      await age.write(buf.subarray(0, n));
    }
    await age.finish();
    await out.commit();
  } catch (err) {
    await age.close();
    await out.abort();
    throw err;
  }
  await age.close();
  await Deno.remove(plainPath);
}
