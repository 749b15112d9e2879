/**
 * Review helper: crafts old GNU sparse entries (typeflag S) byte by byte,
 * the way GNU tar lays them out: map slots at 386 (4 x 24 bytes), isextended
 * at 482, realsize at 483; extension blocks of 21 slots with isextended at
 * 504. A slot is given as [offset, length] numbers, or as raw 12-byte fields.
 */
import { concatBytes } from "../../src/core/bytes.ts";

const enc = new TextEncoder();

export type Slot = [number | Uint8Array, number | Uint8Array];

function put(b: Uint8Array, off: number, len: number, v: number | Uint8Array) {
  if (v instanceof Uint8Array) b.set(v.subarray(0, len), off);
  else b.set(enc.encode(v.toString(8).padStart(len - 1, "0")), off);
}

export function checksum(b: Uint8Array) {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
}

export interface OldSparse {
  name: string;
  realSize: number | Uint8Array;
  slots: Slot[];
  data: Uint8Array;
  /** Overrides the header's size field. */
  size?: number;
  /** Extension blocks' slot capacity used (default: full). */
  mode?: number;
  /** POSIX magic instead of GNU's "ustar  \0". */
  posixMagic?: boolean;
}

export function oldGnuSparse(e: OldSparse): Uint8Array {
  const h = new Uint8Array(512);
  h.set(enc.encode(e.name).subarray(0, 100), 0);
  put(h, 100, 8, e.mode ?? 0o644);
  put(h, 108, 8, 0);
  put(h, 116, 8, 0);
  put(h, 124, 12, e.size ?? e.data.length);
  put(h, 136, 12, 1_700_000_000);
  h[156] = 0x53; // 'S'
  h.set(enc.encode(e.posixMagic ? "ustar\x0000" : "ustar  \0"), 257);
  const first = e.slots.slice(0, 4);
  first.forEach(([o, l], i) => {
    put(h, 386 + i * 24, 12, o);
    put(h, 386 + i * 24 + 12, 12, l);
  });
  put(h, 483, 12, e.realSize);
  const ext: Uint8Array[] = [];
  for (let at = 4; at < e.slots.length; at += 21) {
    const b = new Uint8Array(512);
    e.slots.slice(at, at + 21).forEach(([o, l], i) => {
      put(b, i * 24, 12, o);
      put(b, i * 24 + 12, 12, l);
    });
    ext.push(b);
  }
  if (ext.length) h[482] = 1;
  for (let i = 0; i < ext.length - 1; i++) ext[i][504] = 1;
  checksum(h);
  const pad = (512 - (e.data.length % 512)) % 512;
  return concatBytes([h, ...ext, e.data, new Uint8Array(pad)]);
}
