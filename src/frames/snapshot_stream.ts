/**
 * The one way a snapshot's bytes leave volsnap: its standalone stream (a plain
 * `.tar.zst`, `.tar.gz` or `.tar`), with its size known before the first byte.
 * Download, off-host copies, restore and verify all read through here, so a
 * snapshot kept as a single archive file and one kept as frames in the frame
 * store (SPEC §15) look the same to them.
 */
import { join } from "node:path";
import type { SnapshotRow } from "../../db/catalog.ts";
import { notFound } from "../core/errors.ts";

export interface SnapshotStream {
  /** Exact byte count of `stream` (the download's Content-Length). */
  size: number;
  /** The standalone archive; cancel it when not read to the end. */
  stream: ReadableStream<Uint8Array>;
}

/** Where the catalog's archive files live (`<data>/archives`). */
export interface SnapshotStreamDeps {
  paths: { archives: string };
}

/** Opens the standalone stream of a catalogued snapshot. */
export async function openSnapshotStream(
  deps: SnapshotStreamDeps,
  row: Pick<SnapshotRow, "id" | "file">,
): Promise<SnapshotStream> {
  const path = join(deps.paths.archives, row.file);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw notFound(`archive file of snapshot ${row.id}`);
    throw err;
  }
  try {
    const size = (await file.stat()).size;
    return { size, stream: file.readable };
  } catch (err) {
    file.close();
    throw err;
  }
}
