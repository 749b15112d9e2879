/**
 * Where the zstd frames of a concatenation are, read from their headers only
 * (RFC 8878 §3.1.1): each frame's compressed extent and, when the frame
 * declares it, its content size. Nothing is decoded. Used to find the sub-frames of a stored chunk that
 * a new chunk can take as they are (src/frames/sub_frames.ts).
 */

const ZSTD_MAGIC = 0xfd2fb528;

export interface ZstdFrameExtent {
  /** Compressed bytes [offset, offset + size) of the input. */
  offset: number;
  size: number;
  /** The frame's declared content size (absent: not declared). */
  rawSize?: number;
}

/**
 * The frames of `bytes`, in order, or undefined when the bytes are not a
 * sequence of complete zstd frames (then the caller takes nothing from them).
 */
export function scanZstdFrames(bytes: Uint8Array): ZstdFrameExtent[] | undefined {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ZstdFrameExtent[] = [];
  let p = 0;
  while (p < bytes.length) {
    const start = p;
    if (p + 5 > bytes.length || v.getUint32(p, true) !== ZSTD_MAGIC) return undefined;
    const fhd = bytes[p + 4];
    p += 5;
    const fcsFlag = fhd >> 6;
    const single = (fhd >> 5) & 1;
    const checksum = (fhd >> 2) & 1;
    if (fhd & 0x08) return undefined; // reserved bit
    if (!single) p += 1; // window descriptor
    p += [0, 1, 2, 4][fhd & 3]; // dictionary id
    const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
    if (p + fcsBytes > bytes.length) return undefined;
    let rawSize: number | undefined;
    if (fcsBytes === 0) rawSize = undefined;
    else if (fcsBytes === 1) rawSize = bytes[p];
    else if (fcsBytes === 2) rawSize = v.getUint16(p, true) + 256;
    else if (fcsBytes === 4) rawSize = v.getUint32(p, true);
    else {
      const big = v.getBigUint64(p, true);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
      rawSize = Number(big);
    }
    p += fcsBytes;
    for (;;) {
      if (p + 3 > bytes.length) return undefined;
      const h = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16);
      p += 3;
      const type = (h >> 1) & 3;
      if (type === 3) return undefined; // reserved block type
      p += type === 1 ? 1 : h >>> 3; // an RLE block holds one byte
      if (h & 1) break; // last block
    }
    if (checksum) p += 4;
    if (p > bytes.length) return undefined;
    out.push({ offset: start, size: p - start, rawSize });
  }
  return out;
}
