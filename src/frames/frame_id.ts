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
 * last chunk's tar padding), under a tag of its own.
 */
export function chunkFrameId(level: number, rawSize: number, contentChunkSha: Uint8Array): string {
  return createHash("sha256").update(`volsnap-chunk zstd-${level} ${rawSize}\n`)
    .update(contentChunkSha).digest("hex");
}

/** A frame's id (see frameTag), where the caller has its bytes. */
export function frameId(level: number, bytes: Uint8Array): string {
  return createHash("sha256").update(frameTag(level)).update(bytes).digest("hex");
}
