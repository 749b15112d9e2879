/**
 * A frame's recipe: what its bytes are made of, without its file data. The
 * literal bytes (tar headers, padding, anything not a file's content) are
 * hashed as they are; each small file's content counts by its length and
 * content sha256 instead of its bytes. Equal recipes mean equal frame bytes
 * (up to sha256 collisions), so an incremental capture that finds the
 * recipe of the group it is building among its parent's frames references
 * that frame: the unchanged small files in it are never opened or read. The
 * recipe is also the frame's id (frame_id.ts), so a group's bytes are hashed
 * once, as the files' contents, not again as a frame.
 */
import { createHash, type Hash } from "node:crypto";

/** A file's content in a frame; `sha256` may arrive after its bytes did (set on the object). */
export interface ContentToken {
  sha256?: string;
}

export class FrameRecipe {
  #tag: string;
  /** All literal bytes of the frame, in order (one hash: cheaper than one per run). */
  #literal?: Hash;
  /** Each file's content by offset in the frame: with the literal bytes, they fix every byte. */
  #tokens: { off: number; len: number; token: ContentToken }[] = [];
  #valid = true;

  constructor(tag: string) {
    this.#tag = tag;
  }

  /** Bytes that are part of the frame as themselves. */
  literal(bytes: Uint8Array): void {
    if (!this.#valid || bytes.length === 0) return;
    (this.#literal ??= createHash("sha256")).update(bytes);
  }

  /** `len` bytes at `off` in the frame are one file's content (with its tar padding). */
  data(off: number, len: number, token: ContentToken): void {
    if (this.#valid) this.#tokens.push({ off, len, token });
  }

  /** The frame holds part of a file's content only: it has no recipe. */
  invalidate(): void {
    this.#valid = false;
    this.#tokens = [];
    this.#literal = undefined;
  }

  /** The recipe's hex digest, or null when it has none; resets for the next frame. */
  finish(): string | null {
    return this.finishLater()();
  }

  /**
   * Resets for the next frame and returns what gives this frame's recipe
   * once every content token has its sha256 (a frame worker hashes them).
   */
  finishLater(): () => string | null {
    const tag = this.#tag;
    const tokens = this.#tokens;
    const valid = this.#valid;
    const literal = this.#literal?.digest();
    this.#tokens = [];
    this.#literal = undefined;
    this.#valid = true;
    return () => {
      if (!valid || !tokens.every((t) => t.token.sha256)) return null;
      const h = createHash("sha256").update(tag).update("L");
      if (literal) h.update(literal);
      for (const t of tokens) h.update(`D${t.off}+${t.len}:${t.token.sha256}`);
      return h.digest("hex");
    };
  }
}
