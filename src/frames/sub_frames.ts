/**
 * Chunks of page-structured large files (databases, disk images: a size of
 * whole PAGE-byte pages) are stored as SUB_FRAME-byte sub-frames, each an
 * independent zstd frame, back to back. A chunk that changed since the parent
 * keeps every sub-frame of the parent's chunk whose bytes are still the same
 * (decoded and compared, so nothing damaged or different is ever taken), and
 * only the others are compressed and stored: a database that rewrites a few
 * pages stores a few sub-frames, not whole 1 MiB chunks.
 *
 * Measured here (zstd -3, 64 MiB): 16 KiB sub-frames compress text at 211–216
 * MiB/s against 243–275 for 1 MiB frames, with the same ratio; `zstd -d`
 * decodes them 2.2× slower. Files of other sizes keep 1 MiB frames.
 */
import { Buffer } from "node:buffer";
import { scanZstdFrames } from "../compression/zstd_frames.ts";

/** Sub-frame size: an InnoDB page, two PostgreSQL pages, four SQLite pages. */
export const SUB_FRAME = 16 << 10;
/** A large file whose size is a multiple of this is taken as made of pages. */
export const PAGE = 4096;

/** Whether a large file's chunks are stored as sub-frames (its size is whole pages, no tar padding). */
export function pageStructured(size: number, tarLength: number): boolean {
  return size > 0 && size % PAGE === 0 && tarLength === size;
}

/** Compresses `input` as one zstd frame into `out` at `at`; returns its size. */
export type CompressFrame = (input: Uint8Array, out: Uint8Array, at: number) => number;
/** Decodes one zstd frame (checking its content checksum), or throws. */
export type DecodeFrame = (frame: Uint8Array) => Uint8Array;

/** One sub-frame of a chunk, in raw order: new (in the output) or kept from the parent's bytes. */
export interface SubFrame {
  kept: boolean;
  /** Compressed extent in the output (new) or in the parent's bytes (kept). */
  offset: number;
  size: number;
  rawSize: number;
}

/**
 * Compresses a chunk as sub-frames into `out`, keeping those of `parent`
 * (the parent's chunk: its compressed bytes, whole zstd frames) that start at
 * the same place and hold the same bytes.
 */
export function compressSubFrames(
  input: Uint8Array,
  out: Uint8Array,
  sub: number,
  compress: CompressFrame,
  parent?: { bytes: Uint8Array; decode: DecodeFrame },
): { outLen: number; pieces: SubFrame[] } {
  // The parent's chunk is sub-frames too: its frame j holds bytes from j * sub
  // on (what each really holds is checked by decoding it).
  const frames = parent ? scanZstdFrames(parent.bytes) ?? [] : [];
  let outLen = 0;
  const pieces: SubFrame[] = [];
  for (let at = 0; at < input.length; at += sub) {
    const part = input.subarray(at, Math.min(input.length, at + sub));
    const old = frames[at / sub];
    const fits = old && (old.rawSize === undefined || old.rawSize === part.length);
    if (fits && sameBytes(parent!, old, part)) {
      pieces.push({ kept: true, offset: old.offset, size: old.size, rawSize: part.length });
      continue;
    }
    const n = looksIncompressible(part) ? rawFrame(part, out, outLen) : compress(part, out, outLen);
    pieces.push({ kept: false, offset: outLen, size: n, rawSize: part.length });
    outLen += n;
  }
  return { outLen, pieces };
}

const SAMPLES = 1024;
const counts = new Uint32Array(256);
/** c · log2(c) for every count a sample can reach. */
const cLogC = Float64Array.from(
  { length: SAMPLES + 1 },
  (_, c) => (c ? c * Math.log2(c) : 0),
);

/**
 * Whether a sub-frame's bytes look like noise (random, encrypted or already
 * compressed data): the byte entropy of 1024 bytes sampled evenly is above
 * 7.6 bits (uniform bytes estimate 7.82 ± 0.03 from 1024 samples; text, pages
 * of rows and even bytes of 6.9 bits are below, and zstd's entropy coding
 * gains there). 4096 samples cost the worker 0.35 s per 768 MiB.
 * zstd stores noise as a raw block anyway, but spends 36 µs per 16 KiB finding
 * out (451 MiB/s, against 1.4 GiB/s for 1 MiB frames).
 */
export function looksIncompressible(part: Uint8Array): boolean {
  if (part.length < 4096 || part.length > 64 << 10) return false;
  counts.fill(0);
  const step = Math.floor(part.length / SAMPLES);
  let n = 0;
  for (let i = 0; n < SAMPLES; i += step, n++) counts[part[i]]++;
  let sum = 0;
  for (let b = 0; b < 256; b++) sum += cLogC[counts[b]];
  const bits = Math.log2(n) - sum / n;
  return bits > 7.6;
}

/**
 * `part` as a zstd frame of one raw block (RFC 8878 §3.1.1): single segment,
 * its size declared, no checksum (the snapshot's sha256 and a reuse's byte
 * comparison cover it). Returns the frame's size.
 */
export function rawFrame(part: Uint8Array, out: Uint8Array, at: number): number {
  const n = part.length;
  if (n < 256 || n > 65791) throw new Error(`raw sub-frame of ${n} bytes`); // the 2-byte size field

  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint32(at, 0xfd2fb528, true);
  out[at + 4] = 0x60; // content size in 2 bytes (minus 256), single segment
  v.setUint16(at + 5, n - 256, true);
  const block = (n << 3) | 1; // last block, raw
  out[at + 7] = block & 0xff;
  out[at + 8] = (block >> 8) & 0xff;
  out[at + 9] = block >> 16;
  out.set(part, at + 10);
  return n + 10;
}

function sameBytes(
  parent: { bytes: Uint8Array; decode: DecodeFrame },
  f: { offset: number; size: number },
  want: Uint8Array,
): boolean {
  let got: Uint8Array;
  try {
    got = parent.decode(parent.bytes.subarray(f.offset, f.offset + f.size));
  } catch {
    return false; // damaged: compressed again from the new bytes
  }
  if (got.length !== want.length) return false;
  // Buffer's equals is a native memcmp: 0.5 µs per 16 KiB, a JS loop 4.5 µs.
  return Buffer.from(got.buffer, got.byteOffset, got.length)
    .equals(Buffer.from(want.buffer, want.byteOffset, want.length));
}
