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
import { framesStream } from "./frame_reader.ts";
import { isFramedFile, readFramedSnapshot } from "./snapshot_frames.ts";
import { frameStoreAt } from "./store.ts";
import { OffThreadSha256 } from "../hash/sha256_thread.ts";

export interface SnapshotStream {
  /** Exact byte count of `stream` (the download's Content-Length). */
  size: number;
  /** The standalone archive; cancel it when not read to the end. */
  stream: ReadableStream<Uint8Array>;
}

/** The data dir (`root`, whose `frames/` is the frame store) and its archives dir. */
export interface SnapshotStreamDeps {
  paths: { root: string; archives: string };
}

/** Opens the standalone stream of a catalogued snapshot. */
export async function openSnapshotStream(
  deps: SnapshotStreamDeps,
  row: Pick<SnapshotRow, "id" | "file">,
): Promise<SnapshotStream> {
  const path = join(deps.paths.archives, row.file);
  if (isFramedFile(row.file)) return await openFramed(deps, row.id, path);
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

/**
 * The frames of a framed snapshot back to back. The store's shared lock is
 * held until the stream ends or is cancelled: compaction never removes a
 * frame under a reader.
 */
async function openFramed(
  deps: SnapshotStreamDeps,
  id: string,
  path: string,
): Promise<SnapshotStream> {
  let snap;
  try {
    snap = await readFramedSnapshot(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw notFound(`frame list of snapshot ${id}`);
    throw err;
  }
  const store = await frameStoreAt(deps.paths.root);
  const release = await store.lock.shared();
  return { size: snap.size, stream: framesStream(store, snap.frames, release) };
}

/** sha256 (hex) of a snapshot's standalone stream, read in full. */
export async function sha256OfSnapshot(
  deps: SnapshotStreamDeps,
  row: Pick<SnapshotRow, "id" | "file">,
): Promise<string> {
  const { stream } = await openSnapshotStream(deps, row);
  const hash = new OffThreadSha256();
  try {
    for await (const chunk of stream) await hash.update(chunk);
    return await hash.digest();
  } finally {
    await hash.close();
  }
}
