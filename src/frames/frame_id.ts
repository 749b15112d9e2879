import { createHash } from "node:crypto";

/** How a frame is named: sha256 over this tag and its uncompressed bytes. */
export function frameTag(level: number): string {
  return `volsnap-frame zstd-${level}\n`;
}

/** A frame's id (see frameTag), where the caller has its bytes. */
export function frameId(level: number, bytes: Uint8Array): string {
  return createHash("sha256").update(frameTag(level)).update(bytes).digest("hex");
}
