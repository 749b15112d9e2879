/**
 * The one table of archive limits, shared by the writer (capture) and the
 * reader (restore, verify, import): whatever a capture stores, volsnap's own
 * reader accepts. The reader applies them to every archive from outside, so
 * they bound the disk, memory and CPU an archive can make us spend; the
 * writer checks the same numbers, counted the same way (`pathDepth`,
 * `nameBytes`), and fails before storing an archive that could not be
 * restored.
 */
import { AppError } from "../core/errors.ts";
import { nameBytes, printable } from "../fs/raw_names.ts";

export interface ArchiveLimits {
  /** Decompressed tar bytes (headers + data + padding) → too_large beyond it. */
  maxExpandedBytes: number;
  /** Entries (files, dirs, links) → too_large beyond it. */
  maxEntries: number;
  /** Size of one extended header body (PAX x/g, GNU L/K) → bad_archive beyond it. */
  maxHeaderBytes: number;
  /** Bytes of one entry path or link target. */
  maxPathBytes: number;
  /** Path components of an entry, counted from the archive root (`volumes/0/a` is 3). */
  maxDepth: number;
  /** Raw (compressed) bytes of an upload → too_large beyond it. */
  maxUploadBytes: number;
}

export type LimitName = keyof ArchiveLimits;

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

/** Largest value of one extended attribute on Linux (XATTR_SIZE_MAX). */
export const MAX_XATTR_VALUE_BYTES = 64 * 1024;
/** Longest extended attribute name on Linux (XATTR_NAME_MAX). */
export const MAX_XATTR_NAME_BYTES = 255;

/** Components of an archive path: a leading "./" and a trailing "/" do not count. */
export function pathDepth(path: string): number {
  let p = path.startsWith("./") ? path.slice(2) : path;
  if (p.endsWith("/")) p = p.slice(0, -1);
  if (p === "") return 0;
  let n = 1;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 0x2f) n++;
  return n;
}

/** Bytes of an archive path or link target as stored (raw bytes for non-UTF-8 names). */
export const storedBytes = nameBytes;

/** A capture that would store something the reader refuses; names the limit. */
export class LimitExceededError extends AppError {
  constructor(readonly limit: LimitName, value: number, max: number, what: string) {
    super(
      "too_large",
      `${what}: ${value} exceeds the archive limit ${limit} (${max}); nothing was stored`,
      {
        hint: limit === "maxExpandedBytes"
          ? "raise VOLSNAP_MAX_RESTORE_BYTES or capture less data"
          : `volsnap's reader refuses archives beyond ${limit}; shorten or flatten that part of the volume`,
      },
    );
    this.name = "LimitExceededError";
  }
}

/**
 * The writer's check of one entry whose header is `headerLen` bytes (ustar
 * block(s) included), the `entries`-th, after `bytesBefore` tar bytes:
 * exact only when a cheap bound says a limit could be near.
 */
export function checkWriterLimits(
  l: ArchiveLimits,
  h: { path: string; linkTarget?: string; size: number },
  headerLen: number,
  entries: number,
  bytesBefore: number,
): void {
  const p = h.path;
  // Extended header bodies, as the reader counts them: all but the ustar blocks.
  const ext = headerLen > 512 ? headerLen - 1024 : 0;
  // Everything so far, this entry with its padding, and the end-of-archive marker.
  const expanded = bytesBefore + headerLen + h.size + ((512 - (h.size % 512)) % 512) + 1024;
  if (
    p.length * 3 > l.maxPathBytes || p.length + 1 > 2 * l.maxDepth ||
    (h.linkTarget !== undefined && h.linkTarget.length * 3 > l.maxPathBytes) ||
    ext > l.maxHeaderBytes || entries > l.maxEntries || expanded > l.maxExpandedBytes
  ) {
    checkEntryLimits(l, {
      path: p,
      linkTarget: h.linkTarget,
      headerBytes: ext,
      entries,
      expandedBytes: expanded,
      label: printable(p.length > 120 ? `${p.slice(0, 120)}…` : p),
    });
  }
}

/**
 * The exact check of one entry against the table: path bytes, depth,
 * link target bytes, extended header bytes, running entry count and size.
 */
export function checkEntryLimits(
  limits: ArchiveLimits,
  e: {
    path: string;
    linkTarget?: string;
    headerBytes: number;
    entries: number;
    expandedBytes: number;
    label: string;
  },
): void {
  const check = (limit: LimitName, value: number, what: string) => {
    if (value > limits[limit]) throw new LimitExceededError(limit, value, limits[limit], what);
  };
  check("maxPathBytes", storedBytes(e.path), `path bytes of ${e.label}`);
  check("maxDepth", pathDepth(e.path), `depth of ${e.label} in the archive`);
  if (e.linkTarget !== undefined) {
    check("maxPathBytes", storedBytes(e.linkTarget), `link target bytes of ${e.label}`);
  }
  check("maxHeaderBytes", e.headerBytes, `extended header bytes of ${e.label}`);
  check("maxEntries", e.entries, `entries up to ${e.label}`);
  check("maxExpandedBytes", e.expandedBytes, `archive bytes up to ${e.label}`);
}
