/**
 * The cutter's side of sub-frames (sub_frames.ts): which of the parent's
 * frames hold each chunk of a file, and a changed chunk's new list entries
 * once the worker said which sub-frames it kept.
 */
import type { FrameResult } from "./frame_pool.ts";
import type { FrameRef, PackWriter } from "./store.ts";
import { patchFrameId } from "./frame_id.ts";
import { DIGEST_CHUNK } from "../drill/content_digest.ts";

/** What a capture adds to its stats for a chunk (cutter.ts CutterStats). */
interface ChunkStats {
  newFrames: number;
  storedBytes: number;
  sharedBytes: number;
}

/**
 * A chunk that keeps some of its parent's sub-frames: the new ones are stored
 * as one patch frame, and the chunk is listed as spans, in raw order, of the
 * parent's frames and of the patch (adjacent spans of one frame merged).
 */
export async function keepSubFrames(
  o: { pack: PackWriter; level: number },
  stats: ChunkStats,
  r: FrameResult,
  len: number,
  chunkSha: Uint8Array,
  sub: number,
  oldChunk: FrameRef[],
  starts: number[],
): Promise<FrameRef[]> {
  const pieces = r.pieces!;
  const fresh: number[] = [];
  const freshSizes: number[] = [];
  let freshRaw = 0;
  pieces.forEach((p, i) => {
    if (p.kept) return;
    fresh.push(i);
    freshSizes.push(p.size);
    freshRaw += p.rawSize;
  });
  let patch = "";
  if (fresh.length) {
    patch = patchFrameId(o.level, len, chunkSha, sub, fresh, freshSizes);
    if (!o.pack.has(patch)) {
      patch = await o.pack.append(patch, new Uint8Array(r.out!, 0, r.outLen), freshRaw, true);
      stats.newFrames++;
      stats.storedBytes += r.outLen;
    } else if (o.pack.location(patch)!.size !== r.outLen) {
      throw new Error(`patch frame ${patch} is stored with another layout`);
    }
  }
  const refs: FrameRef[] = [];
  for (const { kept, offset: off, size, rawSize } of pieces) {
    let ref: FrameRef;
    if (kept) {
      let k = starts.length - 1;
      while (starts[k] > off) k--;
      const span = oldChunk[k];
      ref = { id: span.id, from: (span.from ?? 0) + off - starts[k], size, rawSize };
      stats.sharedBytes += size;
    } else ref = { id: patch, from: off, size, rawSize };
    const last = refs[refs.length - 1];
    if (last && last.id === ref.id && last.from! + last.size === ref.from) {
      last.size += size;
      last.rawSize += rawSize;
    } else refs.push(ref);
  }
  for (const f of refs) {
    if (f.from === 0 && o.pack.location(f.id)!.size === f.size) delete f.from;
  }
  return refs;
}

/** The frames of a file by 1 MiB chunk of its data, or undefined if one spans two chunks. */
export function chunkSpans(frames: FrameRef[]): FrameRef[][] | undefined {
  const out: FrameRef[][] = [];
  let raw = 0;
  for (const f of frames) {
    const k = Math.floor(raw / DIGEST_CHUNK);
    if (Math.floor((raw + f.rawSize - 1) / DIGEST_CHUNK) !== k) return undefined;
    (out[k] ??= []).push(f);
    raw += f.rawSize;
  }
  return out;
}
