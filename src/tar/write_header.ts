/**
 * ustar header encoder with PAX extended headers for whatever ustar cannot
 * hold: paths and link targets > 100 bytes, uid/gid > 2097151, sizes ≥ 8 GiB
 * and mtimes with milliseconds or outside the octal range. GNU tar reads the
 * result with every field intact.
 *
 * Also what GNU tar writes for the rest of SPEC §3: names that are not UTF-8
 * as their raw bytes (ustar fields and `path`/`linkpath` records, marked
 * `hdrcharset=BINARY`), extended attributes as `SCHILY.xattr.<name>`
 * records (binary values), and sparse files as GNU sparse PAX 1.0
 * (`GNU.sparse.major=1`, `minor=0`, `name`, `realsize`; the map of data
 * segments leads the entry's data, see `sparseMapBlock`).
 */
import { encodeName } from "../fs/raw_names.ts";

import { BLOCK, padding, type TarEntryType } from "./entry.ts";

export { BLOCK, padding, type TarEntryType };

export interface TarXattr {
  name: string;
  value: Uint8Array;
}

export interface TarEntryHeader {
  /** Path inside the archive; directories end with "/". */
  path: string;
  type: TarEntryType;
  /** Permission bits incl. setuid/setgid/sticky (0..0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow; 0 unless type is "file". */
  size: number;
  mtimeMs: number;
  /** Symlink target (verbatim) or hard-link target path inside the archive. */
  linkTarget?: string;
  xattrs?: TarXattr[] | null;
  /**
   * A sparse file: its real size and data segments [offset, length, …].
   * `size` is then the entry's data: the map block(s) plus the segments.
   */
  sparse?: { realSize: number; map: number[] };
}

const MAX_OCT7 = 0o7777777; // 8-byte numeric fields
const MAX_OCT11 = 0o77777777777; // 12-byte numeric fields

const enc = new TextEncoder();
const MAGIC = new Uint8Array([0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30]); // "ustar\0" "00"
const MAGIC_SUM = MAGIC.reduce((a, b) => a + b, 0);
const TYPEFLAG: Record<TarEntryType, number> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  dir: 0x35,
  fifo: 0x36,
};

/** Encodes the header block(s) for one entry: [PAX header + data] + ustar header. */
export function encodeHeader(h: TarEntryHeader): Uint8Array {
  const sparse = h.sparse;
  // GNU sparse 1.0: the ustar name is a stand-in; GNU.sparse.name is the real one.
  const shown = sparse ? sparseStandIn(h.path) : h.path;
  const path = utf8(shown);
  const link = h.linkTarget === undefined ? undefined : utf8(h.linkTarget);
  const secs = Math.floor(h.mtimeMs / 1000);
  const ms = h.mtimeMs - secs * 1000;
  const rawPath = !shown.isWellFormed();
  const rawLink = h.linkTarget !== undefined && !h.linkTarget.isWellFormed();

  const pax: Uint8Array[] = [];
  if (rawPath || rawLink || (sparse && !h.path.isWellFormed())) {
    pax.push(record("hdrcharset", "BINARY"));
  }
  if (sparse) {
    pax.push(record("GNU.sparse.major", "1"));
    pax.push(record("GNU.sparse.minor", "0"));
    pax.push(record("GNU.sparse.name", utf8(h.path)));
    pax.push(record("GNU.sparse.realsize", String(sparse.realSize)));
  }
  if (path.length > 100 || rawPath) pax.push(record("path", path));
  if (link && (link.length > 100 || rawLink)) pax.push(record("linkpath", link));
  if (h.uid > MAX_OCT7) pax.push(record("uid", String(h.uid)));
  if (h.gid > MAX_OCT7) pax.push(record("gid", String(h.gid)));
  if (h.size > MAX_OCT11) pax.push(record("size", String(h.size)));
  if (ms !== 0 || secs < 0 || secs > MAX_OCT11) pax.push(record("mtime", formatMtime(h.mtimeMs)));
  for (const x of h.xattrs ?? []) pax.push(record(`SCHILY.xattr.${x.name}`, x.value));

  const main = ustarBlock({
    name: path,
    typeflag: TYPEFLAG[h.type],
    mode: h.mode & 0o7777,
    uid: h.uid > MAX_OCT7 ? 0 : h.uid,
    gid: h.gid > MAX_OCT7 ? 0 : h.gid,
    size: h.size > MAX_OCT11 ? 0 : h.size,
    mtime: secs < 0 ? 0 : Math.min(secs, MAX_OCT11),
    linkname: link,
  });
  if (pax.length === 0) return main;

  const body = concat(pax);
  const paxHeader = ustarBlock({
    name: enc.encode(paxName(shown)),
    typeflag: 0x78, // 'x'
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: secs < 0 ? 0 : Math.min(secs, MAX_OCT11),
  });
  const out = new Uint8Array(BLOCK + body.length + padding(body.length) + BLOCK);
  out.set(paxHeader, 0);
  out.set(body, BLOCK);
  out.set(main, out.length - BLOCK);
  return out;
}

/** Largest header `encodeHeaderInto` writes: PAX header + one body block + ustar block. */
export const MAX_FAST_HEADER = 3 * BLOCK;

/**
 * Writes the header block(s) for `h` straight into `buf` at `off` (which must
 * have MAX_FAST_HEADER bytes of room) and returns the bytes written, or 0 when
 * the entry needs more than the common case handles (non-ASCII or > 100-byte
 * names, ids or sizes outside the octal range): then use `encodeHeader`.
 * Same bytes as `encodeHeader`; no allocation, since it runs once per entry.
 */
export function encodeHeaderInto(h: TarEntryHeader, buf: Uint8Array, off: number): number {
  const path = h.path;
  const link = h.linkTarget;
  if (
    path.length > 100 || (link !== undefined && link.length > 100) ||
    h.uid > MAX_OCT7 || h.gid > MAX_OCT7 || h.size > MAX_OCT11 ||
    !isAscii(path) || (link !== undefined && !isAscii(link)) || h.xattrs || h.sparse
  ) return 0;
  const mtimeMs = h.mtimeMs;
  const secs = Math.floor(mtimeMs / 1000);
  const ustarSecs = secs < 0 ? 0 : Math.min(secs, MAX_OCT11);
  let at = off;
  if (mtimeMs - secs * 1000 !== 0 || secs < 0 || secs > MAX_OCT11) {
    const value = formatMtime(mtimeMs);
    const base = 8 + value.length; // " mtime=" + value + "\n"
    let len = base + digits(base);
    if (digits(len) !== digits(base)) len = base + digits(len);
    // The PAX pseudo-entry's name: "PaxHeaders/" + the last path component.
    const end = path.endsWith("/") ? path.length - 1 : path.length;
    const start = path.lastIndexOf("/", end - 1) + 1;
    buf.fill(0, at, at + 2 * BLOCK);
    const name = path.slice(start, Math.min(end, start + 80));
    const names = ascii(buf, at, PAX_PREFIX) + ascii(buf, at + PAX_PREFIX.length, name);
    block(buf, at, names, 0x78, 0o644, 0, 0, len, ustarSecs);
    const lenText = String(len);
    let p = at + BLOCK;
    ascii(buf, p, lenText);
    p += lenText.length;
    ascii(buf, p, " mtime=");
    ascii(buf, p + 7, value);
    buf[p + 7 + value.length] = 0x0a;
    at += 2 * BLOCK;
  }
  buf.fill(0, at, at + BLOCK);
  let names = ascii(buf, at, path);
  if (link !== undefined) names += ascii(buf, at + 157, link);
  block(buf, at, names, TYPEFLAG[h.type], h.mode & 0o7777, h.uid, h.gid, h.size, ustarSecs);
  return at + BLOCK - off;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

const PAX_PREFIX = "PaxHeaders/";

/** Copies ASCII `s` to `buf` at `off`; returns the sum of its bytes (for the checksum). */
function ascii(buf: Uint8Array, off: number, s: string): number {
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    buf[off + i] = c;
    sum += c;
  }
  return sum;
}

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length;
}

/**
 * Fills the numeric fields, magic and checksum of a zeroed block whose names
 * are set; `names` is the sum of the name bytes, so the checksum needs no
 * pass over the block.
 */
function block(
  b: Uint8Array,
  off: number,
  names: number,
  typeflag: number,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtime: number,
): void {
  let sum = names + typeflag + MAGIC_SUM + 8 * 0x20; // the checksum field counts as spaces
  sum += octal(b, off + 100, 8, mode);
  sum += octal(b, off + 108, 8, uid);
  sum += octal(b, off + 116, 8, gid);
  sum += octal(b, off + 124, 12, size);
  sum += octal(b, off + 136, 12, mtime);
  b[off + 156] = typeflag;
  b.set(MAGIC, off + 257);
  octal(b, off + 148, 7, sum); // 6 digits + NUL...
  b[off + 155] = 0x20; // ...then a space
}

/** The name's bytes (raw ones as they were); plain JS for ASCII, which is most names. */
function utf8(s: string): Uint8Array {
  const n = s.length;
  if (n > 256) return encodeName(s);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return encodeName(s);
    b[i] = c;
  }
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** GNU tar's stand-in name for a sparse 1.0 entry: `<dir>/GNUSparseFile.0/<name>`. */
function sparseStandIn(path: string): string {
  const cut = path.lastIndexOf("/");
  return `${path.slice(0, cut + 1)}GNUSparseFile.0/${path.slice(cut + 1)}`;
}

/**
 * The sparse map that leads a sparse 1.0 entry's data: the number of
 * segments, then offset and length of each, one decimal per line, padded
 * with NULs to a whole block.
 */
export function sparseMapBlock(map: number[]): Uint8Array {
  const text = `${map.length / 2}\n${map.map((n) => `${n}\n`).join("")}`;
  const out = new Uint8Array(text.length + padding(text.length));
  enc.encodeInto(text, out);
  return out;
}

/** Seconds with millisecond fraction; negative values keep the sign on the whole. */
function formatMtime(mtimeMs: number): string {
  const sign = mtimeMs < 0 ? "-" : "";
  const abs = Math.abs(mtimeMs);
  const s = Math.floor(abs / 1000);
  const ms = abs - s * 1000;
  return ms === 0 ? `${sign}${s}` : `${sign}${s}.${String(ms).padStart(3, "0")}`;
}

/** One PAX record: "<len> <key>=<value>\n", where len counts its own digits. */
function record(key: string, value: string | Uint8Array): Uint8Array {
  const k = enc.encode(key);
  const v = typeof value === "string" ? enc.encode(value) : value;
  const base = k.length + v.length + 3; // " " "=" "\n"
  let len = base + String(base).length;
  if (String(len).length !== String(base).length) len = base + String(len).length;
  const head = enc.encode(`${len} `);
  const out = new Uint8Array(len);
  out.set(head, 0);
  out.set(k, head.length);
  out[head.length + k.length] = 0x3d; // '='
  out.set(v, head.length + k.length + 1);
  out[len - 1] = 0x0a;
  return out;
}

/** A short, harmless name for the PAX pseudo-entry (readers that ignore PAX see it). */
function paxName(path: string): string {
  const trimmed = (path.endsWith("/") ? path.slice(0, -1) : path).toWellFormed();
  const base = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  const bytes = enc.encode(base);
  const short = bytes.length > 80 ? new TextDecoder().decode(bytes.subarray(0, 80)) : base;
  return `PaxHeaders/${short.replaceAll("\uFFFD", "_")}`;
}

interface UstarFields {
  name: Uint8Array;
  typeflag: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: Uint8Array;
}

function ustarBlock(f: UstarFields): Uint8Array {
  const b = new Uint8Array(BLOCK);
  b.set(f.name.length > 100 ? f.name.subarray(0, 100) : f.name, 0);
  if (f.linkname) b.set(f.linkname.length > 100 ? f.linkname.subarray(0, 100) : f.linkname, 157);
  let names = 0;
  for (let i = 0; i < 100; i++) names += b[i] + b[157 + i];
  block(b, 0, names, f.typeflag, f.mode, f.uid, f.gid, f.size, f.mtime);
  return b;
}

/** Zero-padded octal digits followed by NUL, filling `len` bytes; returns their byte sum. */
function octal(b: Uint8Array, off: number, len: number, value: number): number {
  b[off + len - 1] = 0;
  let sum = 0;
  if (value <= 0x7fffffff) { // integer ops: 3× faster, and nearly every field fits
    for (let i = off + len - 2; i >= off; i--) {
      const d = 0x30 + (value & 7);
      b[i] = d;
      sum += d;
      value >>>= 3;
    }
    return sum;
  }
  for (let i = off + len - 2; i >= off; i--) {
    const d = 0x30 + (value % 8);
    b[i] = d;
    sum += d;
    value = Math.floor(value / 8);
  }
  return sum;
}
