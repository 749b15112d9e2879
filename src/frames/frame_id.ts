/** How a frame is named: sha256 over this tag and its uncompressed bytes. */
export function frameTag(level: number): string {
  return `volsnap-frame zstd-${level}\n`;
}
