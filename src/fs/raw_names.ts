/**
 * File names are bytes; volsnap carries them as JS strings. Valid UTF-8
 * decodes as usual; every byte that is not part of valid UTF-8 becomes the
 * lone surrogate U+DC80 + byte (Python's "surrogateescape"). Valid UTF-8
 * never decodes to a surrogate, so the mapping is exact both ways: a name
 * read from disk or from a tar header is written back byte for byte.
 *
 * `String.isWellFormed()` tells the two apart: a well-formed name is plain
 * UTF-8 and may go through any API (Deno, node:fs, TextEncoder); one that
 * is not needs `encodeName` and libc calls with byte paths.
 */

const fatal = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

/** The name for `bytes`; exact for any bytes (see the module doc). */
export function decodeName(bytes: Uint8Array): string {
  const n = bytes.length;
  let ascii = n <= 256;
  for (let i = 0; ascii && i < n; i++) if (bytes[i] > 0x7f) ascii = false;
  if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  try {
    return fatal.decode(bytes);
  } catch {
    return decodeEscaping(bytes);
  }
}

/** The bytes of a name from `decodeName`. Throws for a lone surrogate that is no escape. */
export function encodeName(s: string): Uint8Array {
  if (s.isWellFormed()) return enc.encode(s);
  const out = new Uint8Array(s.length * 3);
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) out[o++] = c;
    else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && isLow(s.charCodeAt(i + 1))) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      out[o++] = 0xf0 | (cp >> 18);
      out[o++] = 0x80 | ((cp >> 12) & 0x3f);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    } else if (c >= 0xdc80 && c <= 0xdcff) out[o++] = c - 0xdc00;
    else if (c >= 0xd800 && c <= 0xdfff) {
      throw new TypeError(`name holds a lone surrogate U+${c.toString(16).toUpperCase()}`);
    } else {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
  return out.subarray(0, o);
}

/** Byte length of `encodeName(s)`; ASCII needs no encoding. */
export function nameBytes(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return encodeName(s).length;
  return s.length;
}

/** True for a name that holds bytes that are not UTF-8 (needs byte-path calls). */
export function isRawName(s: string): boolean {
  return !s.isWellFormed();
}

/** For messages: escaped bytes as `\xNN`. */
export function printable(s: string): string {
  if (s.isWellFormed()) return s;
  return s.replace(/[\uDC80-\uDCFF]/g, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16)}`);
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

const isCont = (b: number | undefined) => b !== undefined && (b & 0xc0) === 0x80;

/** Length of the valid UTF-8 sequence at `i` (RFC 3629), or 0. */
function seqLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return isCont(b[i + 1]) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const c1 = b[i + 1];
    if (c1 === undefined) return 0;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 > 0x9f) return 0; // surrogates
    return isCont(c1) && isCont(b[i + 2]) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const c1 = b[i + 1];
    if (c1 === undefined) return 0;
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 > 0x8f) return 0; // above U+10FFFF
    return isCont(c1) && isCont(b[i + 2]) && isCont(b[i + 3]) ? 4 : 0;
  }
  return 0;
}

function decodeEscaping(b: Uint8Array): string {
  let out = "";
  let start = 0; // start of the current run of valid UTF-8
  let i = 0;
  while (i < b.length) {
    const n = seqLength(b, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > start) out += fatal.decode(b.subarray(start, i));
    out += String.fromCharCode(0xdc00 + b[i]);
    start = ++i;
  }
  if (i > start) out += fatal.decode(b.subarray(start, i));
  return out;
}
