/**
 * Caps applied to every archive read from outside (restore, verify, import).
 * They bound disk, memory and CPU an archive can make us spend.
 */
export interface ArchiveLimits {
  /** Decompressed tar bytes (headers + data + padding) → too_large beyond it. */
  maxExpandedBytes: number;
  /** Entries (files, dirs, links) → too_large beyond it. */
  maxEntries: number;
  /** Size of one extended header body (PAX x/g, GNU L/K) → bad_archive beyond it. */
  maxHeaderBytes: number;
  /** Bytes of one entry path or link target. */
  maxPathBytes: number;
  /** Path components below the archive root. */
  maxDepth: number;
  /** Raw (compressed) bytes of an upload → too_large beyond it. */
  maxUploadBytes: number;
}

const TiB = 1024 ** 4;

export const DEFAULT_LIMITS: ArchiveLimits = Object.freeze({
  maxExpandedBytes: TiB,
  maxEntries: 10_000_000,
  maxHeaderBytes: 1024 * 1024,
  maxPathBytes: 4096,
  maxDepth: 256,
  maxUploadBytes: TiB,
});

/** The manifest is small JSON; anything bigger is not ours. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
