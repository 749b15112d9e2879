/**
 * A strict, streaming tar parser for untrusted input: ustar + POSIX PAX
 * (x/g, pax.ts) + GNU long names (L/K) + GNU sparse PAX 1.0 and old GNU
 * sparse entries (typeflag S, what `tar -S` writes in its default format).
 * It only yields the entry kinds volsnap can restore and refuses everything else with a
 * reason. Names are bytes: any that are not UTF-8 come out escaped
 * (raw_names.ts), never refused or mangled. It knows nothing about
 * volsnap's layout; reader.ts applies those rules.
 */
import { AppError, BadArchiveError } from "../core/errors.ts";
import { decodeName as rawName } from "../fs/raw_names.ts";
import type { ArchiveLimits } from "./limits.ts";
import { BLOCK, padding, type TarEntryType } from "./entry.ts";
import { ByteSource, EMPTY, truncated } from "./byte_source.ts";
import { parsePax, type PaxValues, type PaxXattr } from "./pax.ts";

export { ByteSource };

export type { TarEntryType };

export interface TarEntry {
  /** Path as stored (PAX/GNU long name applied), not yet validated. */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  /** Data bytes that follow (0 for everything but files). */
  size: number;
  /** Symlink target or hard-link target path, as stored. */
  linkname: string;
  xattrs?: PaxXattr[];
  /**
   * A sparse file: `size` data bytes (after the map, which the parser read)
   * fill the segments [offset, length, …] of a file of `realSize` bytes.
   */
  sparse?: { realSize: number; map: number[] };
}

interface Pending extends PaxValues {
  headerBytes: number;
}

/** Iterates entries; the body of each must be read (or is skipped) before `next()`. */
export class TarParser {
  readonly #src: ByteSource;
  readonly #limits: ArchiveLimits;
  #global: PaxValues = {};
  #bodyLeft = 0;
  #padLeft = 0;
  #current = "";

  constructor(src: ByteSource, limits: ArchiveLimits) {
    this.#src = src;
    this.#limits = limits;
  }

  /** The next entry, or null at the end-of-archive marker. */
  async next(): Promise<TarEntry | null> {
    await this.skipBody();
    const pending: Pending = { headerBytes: 0 };
    for (;;) {
      const block = await this.#src.read(BLOCK, "a header");
      if (!block) throw new BadArchiveError("archive is truncated (no end-of-archive marker)");
      if (isZero(block)) {
        const second = await this.#src.read(BLOCK, "the end-of-archive marker");
        if (!second) {
          throw new BadArchiveError("archive is truncated (incomplete end-of-archive marker)");
        }
        if (!isZero(second)) {
          throw new BadArchiveError("archive has a lone zero block before more headers");
        }
        return null;
      }
      const flag = String.fromCharCode(block[156]);
      const ext = flag === "x" || flag === "g" || flag === "L" || flag === "K";
      // An extended header's own name and link name are never used: not decoded.
      const h = parseHeader(block, !ext);
      if (ext) {
        pending.headerBytes += h.size;
        if (
          h.size > this.#limits.maxHeaderBytes || pending.headerBytes > this.#limits.maxHeaderBytes
        ) {
          throw new BadArchiveError(
            `extended header of ${pending.headerBytes} bytes before entry near '${
              field(block, 0, 100)
            }' exceeds the limit of ${this.#limits.maxHeaderBytes}`,
          );
        }
        const body = await this.#src.read(h.size, "an extended header");
        if (!body && h.size) throw truncated("an extended header");
        // Parsed before the padding is skipped: that may move to the next
        // chunk, and the one `body` views may then be handed away.
        const data = body ?? EMPTY;
        if (flag === "x") parsePax(data, pending, false);
        else if (flag === "g") parsePax(data, this.#global, true);
        else if (flag === "L") pending.path = cString(data);
        else pending.linkpath = cString(data);
        await this.#skipRaw(padding(h.size));
        continue;
      }
      const entry = this.#resolve(h, flag === "S" ? "0" : flag, pending);
      this.#current = entry.name;
      this.#bodyLeft = entry.size;
      this.#padLeft = padding(entry.size);
      if (flag === "S") {
        if (pending.sparseMajor !== undefined) {
          throw new BadArchiveError(`sparse entry '${entry.name}' is both old GNU and PAX sparse`);
        }
        await this.#readOldGnuSparse(entry, block);
      } else if (pending.sparseMajor !== undefined) await this.#readSparseMap(entry, pending);
      return entry;
    }
  }

  #resolve(h: RawHeader, flag: string, p: Pending): TarEntry {
    const g = this.#global;
    const name = p.sparseName ?? p.path ?? g.path ?? h.name;
    const linkname = p.linkpath ?? h.linkname;
    const size = p.size ?? h.size;
    let type: TarEntryType;
    switch (flag) {
      case "0":
      case "\0":
        type = "file";
        break;
      case "1":
        type = "hardlink";
        break;
      case "2":
        type = "symlink";
        break;
      case "5":
        type = "dir";
        break;
      case "6":
        type = "fifo";
        break;
      default:
        throw new BadArchiveError(`entry '${name}' has a forbidden type: ${describeFlag(flag)}`);
    }
    if (type !== "file" && size !== 0) {
      throw new BadArchiveError(`entry '${name}' (${type}) carries ${size} data bytes`);
    }
    if (type === "file" && name.endsWith("/")) {
      throw new BadArchiveError(`regular file entry '${name}' has a trailing slash`);
    }
    return {
      name,
      type,
      mode: h.mode,
      uid: p.uid ?? g.uid ?? h.uid,
      gid: p.gid ?? g.gid ?? h.gid,
      mtimeMs: p.mtimeMs ?? g.mtimeMs ?? h.mtime * 1000,
      size,
      linkname,
      xattrs: p.xattrs,
    };
  }

  /** GNU sparse 1.0: the map of data segments leads the entry's data. */
  async #readSparseMap(e: TarEntry, p: Pending) {
    const bad = (why: string) => new BadArchiveError(`sparse entry '${e.name}' ${why}`);
    if (p.sparseMajor !== 1 || p.sparseMinor !== 0) {
      throw bad(`is GNU sparse ${p.sparseMajor}.${p.sparseMinor}; only 1.0 is supported`);
    }
    if (e.type !== "file") throw bad("is not a regular file");
    const realSize = p.sparseRealSize;
    if (realSize === undefined) throw bad("has no GNU.sparse.realsize");
    this.#checkRealSize(e, realSize);
    const nums: number[] = [];
    let want = -1;
    let cur = -1;
    let read = 0;
    while (want < 0 || nums.length < want) {
      if (this.#bodyLeft < BLOCK) throw bad("has a truncated sparse map");
      read += BLOCK;
      if (read > this.#limits.maxHeaderBytes) throw bad("has a sparse map beyond the header limit");
      const b = await this.#src.read(BLOCK, `the sparse map of '${e.name}'`);
      if (!b) throw truncated(`the sparse map of '${e.name}'`);
      this.#bodyLeft -= BLOCK;
      for (let i = 0; i < BLOCK && (want < 0 || nums.length < want); i++) {
        const c = b[i];
        if (c >= 0x30 && c <= 0x39) {
          cur = (cur < 0 ? 0 : cur * 10) + c - 0x30;
          if (cur > Number.MAX_SAFE_INTEGER / 10) throw bad("has a number too large in its map");
        } else if (c === 0x0a && cur >= 0) {
          if (want < 0) want = 2 * cur;
          else nums.push(cur);
          cur = -1;
        } else throw bad("has a malformed sparse map");
      }
    }
    this.#checkSparse(e, realSize, nums);
  }

  /**
   * Old GNU sparse (typeflag S): the map is in the header (4 entries of
   * offset and length at 386, "extended" at 482, the real size at 483) and
   * in extension blocks of 21 entries each that follow it (their own
   * "extended" byte at 504), before the data. As in GNU tar, a slot with an
   * empty length ends the list (one with only its offset empty is refused).
   */
  async #readOldGnuSparse(e: TarEntry, header: Uint8Array) {
    const nums: number[] = [];
    const take = (b: Uint8Array, at: number, count: number): boolean => {
      for (let i = 0; i < count; i++, at += 24) {
        const end = b[at + 12] === 0;
        if (end !== (b[at] === 0)) {
          throw new BadArchiveError(`sparse entry '${e.name}' has a half-empty map slot`);
        }
        if (end) return false;
        nums.push(numeric(b, at, 12, "sparse offset"), numeric(b, at + 12, 12, "sparse length"));
      }
      return true;
    };
    const realSize = numeric(header, 483, 12, "sparse real size");
    this.#checkRealSize(e, realSize);
    let more = take(header, 386, 4) && header[482] !== 0;
    let read = 0;
    while (more) {
      read += BLOCK;
      if (read > this.#limits.maxHeaderBytes) {
        throw new BadArchiveError(
          `sparse entry '${e.name}' has a sparse map beyond the header limit`,
        );
      }
      const b = await this.#src.read(BLOCK, `the sparse map of '${e.name}'`);
      if (!b) throw truncated(`the sparse map of '${e.name}'`);
      more = take(b, 0, 21) && b[504] !== 0;
    }
    this.#checkSparse(e, realSize, nums);
  }

  /** Refuses a sparse file larger than the limits allow (before its map is read). */
  #checkRealSize(e: TarEntry, realSize: number) {
    if (realSize > this.#limits.maxExpandedBytes) {
      throw new AppError(
        "too_large",
        `sparse file '${e.name}' of ${realSize} bytes exceeds the limit of ${this.#limits.maxExpandedBytes}`,
      );
    }
  }

  /** Validates a sparse map against the entry's real size and data, then records it. */
  #checkSparse(e: TarEntry, realSize: number, nums: number[]) {
    const bad = (why: string) => new BadArchiveError(`sparse entry '${e.name}' ${why}`);
    let end = 0;
    let data = 0;
    let lastData = -1;
    for (let i = 0; i < nums.length; i += 2) {
      if (nums[i] < end || nums[i] + nums[i + 1] > realSize) {
        throw bad("has overlapping or out-of-range segments");
      }
      end = nums[i] + nums[i + 1];
      data += nums[i + 1];
      if (nums[i + 1] > 0) lastData = i;
    }
    // GNU tar starts each segment's data on a block of its own: a short
    // segment before the last would make it read the next header as data
    // where volsnap reads it as an entry. No writer makes one (holes are
    // whole file system blocks).
    for (let i = 0; i < lastData; i += 2) {
      if (nums[i + 1] % BLOCK !== 0) {
        throw bad("has a segment before its last that is not whole blocks");
      }
    }
    if (data !== this.#bodyLeft) {
      throw bad(`maps ${data} data bytes but carries ${this.#bodyLeft}`);
    }
    e.size = this.#bodyLeft;
    e.sparse = { realSize, map: nums };
  }

  /** Reads the whole body of the current file entry into a copy of its own (small files). */
  async readBody(): Promise<Uint8Array> {
    const n = this.#bodyLeft;
    this.#bodyLeft = 0;
    const data = n ? await this.#src.read(n, `the data of '${this.#current}'`) : EMPTY;
    if (!data) throw truncated(`the data of '${this.#current}'`);
    const copy = data.slice(); // skipping the padding may hand the chunk away
    await this.#skipPad();
    return copy;
  }

  /** Streams the body of the current entry to `sink`. */
  async pumpBody(sink: (c: Uint8Array) => void | Promise<void>): Promise<void> {
    const n = this.#bodyLeft;
    this.#bodyLeft = 0;
    await this.#src.pump(n, `the data of '${this.#current}'`, sink);
    await this.#skipPad();
  }

  async skipBody(): Promise<void> {
    if (this.#bodyLeft) await this.pumpBody(() => {});
    else await this.#skipPad();
  }

  /** After the end marker: only zero padding may follow (GNU tar pads to 10 KiB records). */
  finish(): Promise<void> {
    return this.#src.drainZeros();
  }

  async #skipPad() {
    const n = this.#padLeft;
    this.#padLeft = 0;
    await this.#skipRaw(n);
  }

  async #skipRaw(n: number) {
    if (n) await this.#src.pump(n, `the padding of '${this.#current}'`, () => {});
  }
}

interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
}

function parseHeader(b: Uint8Array, names: boolean): RawHeader {
  const stored = octal(b, 148, 8, "checksum");
  // The checksum field itself counts as 8 spaces. Some old writers summed
  // signed bytes: that sum is 256 less per byte above 127.
  let unsigned = 8 * 32;
  let high = 0;
  for (let i = 0; i < 148; i++) {
    const v = b[i];
    unsigned += v;
    high += v >> 7;
  }
  for (let i = 156; i < BLOCK; i++) {
    const v = b[i];
    unsigned += v;
    high += v >> 7;
  }
  const signed = unsigned - 256 * high;
  if (stored !== unsigned && stored !== signed) {
    throw new BadArchiveError("tar header checksum mismatch (corrupt or not a tar archive)");
  }
  let name = names ? field(b, 0, 100) : "";
  // POSIX ustar splits long names into prefix + name; GNU ("ustar  ") uses those bytes otherwise.
  const posix = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 &&
    b[261] === 0x72 && b[262] === 0; // "ustar\0"
  if (names && posix) {
    const prefix = field(b, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: octal(b, 100, 8, "mode") & 0o7777,
    uid: numeric(b, 108, 8, "uid"),
    gid: numeric(b, 116, 8, "gid"),
    size: numeric(b, 124, 12, "size"),
    mtime: numeric(b, 136, 12, "mtime"),
    linkname: names ? field(b, 157, 100) : "",
  };
}

function field(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return rawName(b.subarray(off, end));
}

function octal(b: Uint8Array, off: number, len: number, what: string): number {
  let i = off;
  const end = off + len;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw new BadArchiveError(`tar header field ${what} is not a number`);
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** Octal, or GNU base-256 for values that do not fit (big uids, > 8 GiB sizes). */
function numeric(b: Uint8Array, off: number, len: number, what: string): number {
  if (!(b[off] & 0x80)) return octal(b, off, len, what);
  if (b[off] === 0xff) throw new BadArchiveError(`tar header field ${what} is negative`);
  let v = b[off] & 0x7f;
  for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i];
  if (!Number.isSafeInteger(v)) throw new BadArchiveError(`tar header field ${what} is too large`);
  return v;
}

function cString(data: Uint8Array): string {
  const nul = data.indexOf(0);
  return rawName(nul < 0 ? data : data.subarray(0, nul));
}

function describeFlag(flag: string): string {
  switch (flag) {
    case "3":
      return "character device";
    case "4":
      return "block device";
    case "6":
      return "fifo";
    case "7":
      return "contiguous file";
    case "S":
      return "GNU sparse file";
    default:
      return `typeflag ${JSON.stringify(flag)}`;
  }
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Thrown for entry-count overflow; kept here so all caps live with the parser. */
export function tooManyEntries(limit: number): AppError {
  return new AppError("too_large", `archive has more than ${limit} entries`);
}
