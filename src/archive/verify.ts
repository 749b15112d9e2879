/**
 * Full decode of an archive without writing anything: every rule of the
 * extractor is applied (paths, types, links, caps) and the raw bytes are
 * hashed. Used by `verify` and by import.
 */
import { AppError } from "../errors.ts";
import type { ArchiveStats, Compression, Manifest } from "../model.ts";
import { OffThreadDecode, type RawSource } from "./decode_thread.ts";
import type { ArchiveLimits } from "./limits.ts";
import { ArchiveWalker } from "./reader.ts";
import { ByteSource, TarParser } from "./read_tar.ts";
import { progressThrottle } from "./read_progress.ts";

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
  const decoded = new OffThreadDecode(raw, {
    maxExpandedBytes: limits.maxExpandedBytes,
    onExpanded: progress.update,
  });
  const src = new ByteSource(decoded.chunks());
  try {
    const walker = await ArchiveWalker.open(new TarParser(src, limits), limits);
    while (await walker.next()); // bodies are skipped (and so counted and hashed)
    progress.flush();
    return {
      manifest: walker.manifest,
      compression: decoded.compression,
      stats: {
        sizeBytes: decoded.rawBytes,
        sha256: decoded.sha256(),
        uncompressedBytes: decoded.expandedBytes,
        fileCount: walker.entries,
        skippedSpecial: 0,
        warnings: [],
      },
    };
  } catch (err) {
    await src.close().catch(() => {});
    throw err;
  }
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
