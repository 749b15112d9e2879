/**
 * A strict, streaming tar parser for untrusted input: ustar + POSIX PAX
 * (x/g) + GNU long names (L/K). It only yields the entry kinds volsnap can
 * restore and refuses everything else with a reason. It knows nothing about
 * volsnap's layout; reader.ts applies those rules.
 */
import { AppError, BadArchiveError } from "../core/errors.ts";
import type { ArchiveLimits } from "./limits.ts";
import { BLOCK, padding, type TarEntryType } from "./entry.ts";
import { ByteSource, EMPTY, truncated } from "./byte_source.ts";

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
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

interface Pending {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtimeMs?: number;
  headerBytes: number;
}

/** Iterates entries; the body of each must be read (or is skipped) before `next()`. */
export class TarParser {
  readonly #src: ByteSource;
  readonly #limits: ArchiveLimits;
  #global: Omit<Pending, "headerBytes"> = {};
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
              field(block, 0, 100, "name")
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
        else if (flag === "L") pending.path = cString(data, "GNU long name");
        else pending.linkpath = cString(data, "GNU long link name");
        await this.#skipRaw(padding(h.size));
        continue;
      }
      const entry = this.#resolve(h, flag, pending);
      this.#current = entry.name;
      this.#bodyLeft = entry.size;
      this.#padLeft = padding(entry.size);
      return entry;
    }
  }

  #resolve(h: RawHeader, flag: string, p: Pending): TarEntry {
    const g = this.#global;
    const name = p.path ?? g.path ?? h.name;
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
    };
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
  let name = names ? field(b, 0, 100, "name") : "";
  // POSIX ustar splits long names into prefix + name; GNU ("ustar  ") uses those bytes otherwise.
  const posix = b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 &&
    b[261] === 0x72 && b[262] === 0; // "ustar\0"
  if (names && posix) {
    const prefix = field(b, 345, 155, "prefix");
    if (prefix) name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: octal(b, 100, 8, "mode") & 0o7777,
    uid: numeric(b, 108, 8, "uid"),
    gid: numeric(b, 116, 8, "gid"),
    size: numeric(b, 124, 12, "size"),
    mtime: numeric(b, 136, 12, "mtime"),
    linkname: names ? field(b, 157, 100, "linkname") : "",
  };
}

function field(b: Uint8Array, off: number, len: number, what: string): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return decodeName(b.subarray(off, end), what);
}

function decodeName(bytes: Uint8Array, what: string): string {
  // Most names are ASCII: skip the (per-call costly) UTF-8 decoder for them.
  let ascii = bytes.length <= 256;
  for (let i = 0; ascii && i < bytes.length; i++) if (bytes[i] > 0x7f) ascii = false;
  if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadArchiveError(`tar ${what} is not valid UTF-8`);
  }
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

function cString(data: Uint8Array, what: string): string {
  const nul = data.indexOf(0);
  return decodeName(nul < 0 ? data : data.subarray(0, nul), what);
}

const DIGITS = /^\d{1,16}$/;
const USED_PAX_KEYS = new Set(["path", "linkpath", "size", "uid", "gid", "mtime"]);

/** Same acceptance as decodeName, without building a string for ASCII. */
function checkUtf8(bytes: Uint8Array) {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] > 0x7f) {
      decodeName(bytes, "PAX record");
      return;
    }
  }
}

/** Strict PAX record parser: `<len> <key>=<value>\n`, lengths must add up exactly. */
function parsePax(data: Uint8Array, into: Omit<Pending, "headerBytes">, global: boolean) {
  let off = 0;
  while (off < data.length) {
    let sp = off;
    let len = 0;
    while (sp < data.length && sp - off < 20 && data[sp] >= 0x30 && data[sp] <= 0x39) {
      len = len * 10 + data[sp++] - 0x30;
    }
    if (sp === off || data[sp] !== 0x20) throw new BadArchiveError("malformed PAX record length");
    const end = off + len;
    if (len <= sp - off + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw new BadArchiveError("malformed PAX record (length does not match)");
    }
    let eq = sp + 1;
    while (eq < end - 1 && data[eq] !== 0x3d) eq++; // '='
    if (eq === sp + 1 || eq === end - 1) throw new BadArchiveError("malformed PAX record (no key)");
    const key = decodeName(data.subarray(sp + 1, eq), "PAX record");
    const value = data.subarray(eq + 1, end - 1);
    if (USED_PAX_KEYS.has(key) || key.startsWith("GNU.sparse.")) {
      applyPax(key, decodeName(value, "PAX record"), into, global);
    } else checkUtf8(value); // not restored (atime, ctime, uname, …), but must be well-formed
    off = end;
  }
}

function applyPax(key: string, value: string, into: Omit<Pending, "headerBytes">, global: boolean) {
  const int = () => {
    if (!DIGITS.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new BadArchiveError(`PAX ${key} is not a valid number: '${value.slice(0, 40)}'`);
    }
    return Number(value);
  };
  if (key.startsWith("GNU.sparse.")) {
    throw new BadArchiveError("sparse tar entries are not supported");
  }
  switch (key) {
    case "path":
    case "linkpath":
    case "size":
      // Per-file meaning only; a global one would retarget every later entry.
      if (global) throw new BadArchiveError(`global PAX header sets '${key}'`);
      if (key === "size") into.size = int();
      else into[key] = value;
      return;
    case "uid":
    case "gid":
      into[key] = int();
      return;
    case "mtime": {
      if (!/^-?\d{1,16}(\.\d{0,9})?$/.test(value)) {
        throw new BadArchiveError(`PAX mtime is not a valid time: '${value.slice(0, 40)}'`);
      }
      // Whole ms, truncated like stat's mtimeMs (float math would round up .9999…).
      const [sec, frac = ""] = value.replace("-", "").split(".");
      const ms = Number(sec) * 1000 + Number(frac.padEnd(3, "0").slice(0, 3));
      into.mtimeMs = value.startsWith("-") ? -ms : ms;
      return;
    }
    default:
      // atime, ctime, uname, gname, charset, SCHILY.*, LIBARCHIVE.*: not restored.
      return;
  }
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
