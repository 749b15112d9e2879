/**
 * Full decode of an archive without writing anything: every rule of the
 * extractor is applied (paths, types, links, caps) and the raw bytes are
 * hashed. Used by `verify` and by import.
 */
import { AppError } from "../core/errors.ts";
import type { ArchiveStats, Compression, Manifest } from "../core/model.ts";
import type { ArchiveLimits } from "../tar/limits.ts";
import { progressThrottle } from "./read_progress.ts";
import { OffThreadWalk, type RawSource, walkStats } from "./walk_thread.ts";

export interface ScanResult {
  manifest: Manifest;
  stats: ArchiveStats;
  compression: Compression;
}

/**
 * `source` is a raw byte stream (an upload) or `{ path }` of a stored file,
 * which the decoding thread then reads itself. `onProgress` receives
 * decompressed bytes done.
 */
export async function scanArchive(
  source: ReadableStream<Uint8Array> | RawSource,
  limits: ArchiveLimits,
  onProgress?: (n: number) => void,
): Promise<ScanResult> {
  const progress = progressThrottle(onProgress);
  const raw = source instanceof ReadableStream ? { stream: source } : source;
  const walk = new OffThreadWalk(raw, { limits, withData: false, onExpanded: progress.update });
  let manifest: Manifest | undefined;
  for await (const m of walk.messages()) if (m.type === "manifest") manifest = m.manifest;
  progress.flush();
  return {
    manifest: manifest!,
    compression: walk.result.compression,
    stats: walkStats(walk.result),
  };
}

/** Re-reads a stored archive completely; a hash mismatch is an integrity_error. */
export async function verifyArchiveFile(
  path: string,
  expectedSha256: string,
  limits: ArchiveLimits,
  onProgress?: (n: number) => void,
): Promise<{ manifest: Manifest; stats: ArchiveStats }> {
  const { manifest, stats } = await scanArchive({ path }, limits, onProgress);
  if (stats.sha256 !== expectedSha256.toLowerCase()) {
    throw new AppError(
      "integrity_error",
      `archive ${path} has sha256 ${stats.sha256}, expected ${expectedSha256}: the stored file is damaged`,
    );
  }
  return { manifest, stats };
}

/** The same check over a stream (a snapshot read from off-host storage). */
export async function verifyArchiveStream(
  stream: ReadableStream<Uint8Array>,
  expectedSha256: string,
  limits: ArchiveLimits,
  onProgress?: (n: number) => void,
): Promise<{ manifest: Manifest; stats: ArchiveStats }> {
  const { manifest, stats } = await scanArchive(stream, limits, onProgress);
  if (stats.sha256 !== expectedSha256.toLowerCase()) {
    throw new AppError(
      "integrity_error",
      `archive read from off-host storage has sha256 ${stats.sha256}, expected ${expectedSha256}`,
    );
  }
  return { manifest, stats };
}
