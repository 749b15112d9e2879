/**
 * Strict PAX extended-header records (`<len> <key>=<value>\n`) for the tar
 * parser: the keys volsnap restores (path, linkpath, size, uid, gid, mtime),
 * extended attributes (`SCHILY.xattr.<name>`, binary values), GNU sparse
 * PAX 1.0 (`GNU.sparse.major/minor/name/realsize`) and `hdrcharset`. Names
 * are bytes: one that is not UTF-8 is kept exactly (raw_names.ts), whether
 * or not the archive says `hdrcharset=BINARY` (GNU tar writes such bytes
 * without it). Every other record must still be well-formed UTF-8.
 */
import { BadArchiveError } from "../core/errors.ts";
import { decodeName } from "../fs/raw_names.ts";
import { MAX_XATTR_NAME_BYTES, MAX_XATTR_VALUE_BYTES } from "./limits.ts";

export interface PaxXattr {
  name: string;
  value: Uint8Array;
}

export interface PaxValues {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtimeMs?: number;
  xattrs?: PaxXattr[];
  sparseMajor?: number;
  sparseMinor?: number;
  sparseName?: string;
  sparseRealSize?: number;
}

const DIGITS = /^\d{1,16}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });
const XATTR = "SCHILY.xattr.";

/** Text of a record that must be UTF-8 (keys, numbers, records not restored). */
export function strictText(bytes: Uint8Array, what: string): string {
  let ascii = bytes.length <= 256;
  for (let i = 0; ascii && i < bytes.length; i++) if (bytes[i] > 0x7f) ascii = false;
  if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BadArchiveError(`tar ${what} is not valid UTF-8`);
  }
}

/** Same acceptance as strictText, without building a string for ASCII. */
function checkUtf8(bytes: Uint8Array) {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] > 0x7f) {
      strictText(bytes, "PAX record");
      return;
    }
  }
}

/** Parses one extended header body into `into`; lengths must add up exactly. */
export function parsePax(data: Uint8Array, into: PaxValues, global: boolean): void {
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
    const key = strictText(data.subarray(sp + 1, eq), "PAX record");
    const value = data.subarray(eq + 1, end - 1);
    off = end;
    if (key.startsWith(XATTR)) {
      if (global) throw new BadArchiveError(`global PAX header sets '${key}'`);
      addXattr(key.slice(XATTR.length), value, into);
    } else if (key === "path" || key === "linkpath" || key === "GNU.sparse.name") {
      if (global) throw new BadArchiveError(`global PAX header sets '${key}'`);
      const name = decodeName(value);
      if (key === "GNU.sparse.name") into.sparseName = name;
      else into[key] = name;
    } else if (key === "hdrcharset") {
      const v = strictText(value, "PAX record");
      if (v !== "BINARY" && v !== "ISO-IR 10646 2000 UTF-8") {
        throw new BadArchiveError(`PAX hdrcharset '${v.slice(0, 40)}' is not supported`);
      }
    } else applyPax(key, value, into, global);
  }
}

function addXattr(name: string, value: Uint8Array, into: PaxValues) {
  if (name === "" || name.length > MAX_XATTR_NAME_BYTES || name.includes("\0")) {
    throw new BadArchiveError(`PAX xattr name '${name.slice(0, 40)}' is not valid`);
  }
  if (value.length > MAX_XATTR_VALUE_BYTES) {
    throw new BadArchiveError(`PAX xattr ${name} has ${value.length} bytes, more than 64 KiB`);
  }
  const list = into.xattrs ??= [];
  if (list.some((x) => x.name === name)) {
    throw new BadArchiveError(`PAX xattr ${name} is set twice`);
  }
  list.push({ name, value: value.slice() }); // the chunk `value` views is handed away later
}

function applyPax(key: string, raw: Uint8Array, into: PaxValues, global: boolean) {
  const sparse = key.startsWith("GNU.sparse.");
  if (key !== "size" && key !== "uid" && key !== "gid" && key !== "mtime" && !sparse) {
    // atime, ctime, uname, gname, comment, SCHILY.acl.*, LIBARCHIVE.*: not restored,
    // but must be well-formed.
    checkUtf8(raw);
    return;
  }
  const value = strictText(raw, "PAX record");
  const int = () => {
    if (!DIGITS.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new BadArchiveError(`PAX ${key} is not a valid number: '${value.slice(0, 40)}'`);
    }
    return Number(value);
  };
  if (global && (key === "size" || sparse)) {
    // Per-file meaning only; a global one would retarget every later entry.
    throw new BadArchiveError(`global PAX header sets '${key}'`);
  }
  switch (key) {
    case "size":
      into.size = int();
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
    case "GNU.sparse.major":
      into.sparseMajor = int();
      return;
    case "GNU.sparse.minor":
      into.sparseMinor = int();
      return;
    case "GNU.sparse.realsize":
      into.sparseRealSize = int();
      return;
    default:
      // GNU sparse 0.x (GNU.sparse.offset/numbytes/map/size): not what GNU tar writes today.
      throw new BadArchiveError(
        `sparse tar entries other than GNU sparse PAX 1.0 are not supported (${key})`,
      );
  }
}
