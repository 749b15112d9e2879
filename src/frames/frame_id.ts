import { createHash } from "node:crypto";

/**
 * How a frame is named: sha256 over this tag and its uncompressed bytes, or,
 * for a group of small entries, its recipe (recipeTag).
 */
export function frameTag(level: number): string {
  return `volsnap-frame zstd-${level}\n`;
}

/**
 * What a group frame's recipe (frame_recipe.ts) is hashed with. It differs
 * from frameTag, so no frame's bytes can be made to hash to another frame's
 * recipe: a recipe is a frame's id too (it fixes every byte of the frame).
 */
export function recipeTag(level: number): string {
  return `volsnap-recipe zstd-${level}\n`;
}

/**
 * A large file's chunk frame: named by the sha256 of the chunk's content (the
 * content digest's, content_digest.ts FileHasher) and the frame's length (the
 * last chunk's tar padding), under a tag of its own. `sub`: the chunk is
 * stored as sub-frames of that many bytes (sub_frames.ts); the layout is part
 * of the name, since spans of the frame point at its sub-frames.
 */
export function chunkFrameId(
  level: number,
  rawSize: number,
  contentChunkSha: Uint8Array,
  sub?: number,
): string {
  const layout = sub ? ` sub-${sub}` : "";
  return createHash("sha256").update(`volsnap-chunk zstd-${level} ${rawSize}${layout}\n`)
    .update(contentChunkSha).digest("hex");
}

/**
 * The frame holding only the sub-frames of a chunk that its parent's chunk
 * lacked, back to back: named by the chunk (content sha256 and length), the
 * sub-frame size, which sub-frames (by index) it holds and each one's
 * compressed size. The sizes fix where each sub-frame sits (spans point at
 * them): another zstd build may compress the same pages to another layout,
 * and a stored patch of another layout must not be taken for this one.
 */
export function patchFrameId(
  level: number,
  rawSize: number,
  contentChunkSha: Uint8Array,
  sub: number,
  indexes: number[],
  sizes: number[],
): string {
  return createHash("sha256").update(`volsnap-patch zstd-${level} ${rawSize} sub-${sub}\n`)
    .update(contentChunkSha).update(`${indexes.join(",")} ${sizes.join(",")}`).digest("hex");
}

/** A frame's id (see frameTag), where the caller has its bytes. */
export function frameId(level: number, bytes: Uint8Array): string {
  return createHash("sha256").update(frameTag(level)).update(bytes).digest("hex");
}

/**
 * A frame stored again with another layout of the same bytes than the
 * store's copy of `id` (PackWriter.append): named by `id` and its own
 * compressed bytes, so both copies stay findable.
 */
export function variantFrameId(id: string, compressed: Uint8Array): string {
  return createHash("sha256").update(`volsnap-variant ${id}\n`).update(compressed).digest("hex");
}
