/**
 * What the tar codec shares between its writer and its parser: the entry
 * types volsnap knows and the 512-byte block arithmetic.
 */

/** Entry types of volsnap archives (ustar typeflags '0', '5', '2', '1', '6'). */
export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "fifo";

/** tar's record unit: headers are one block, data is padded to whole blocks. */
export const BLOCK = 512;

/** Bytes to add after `n` data bytes to reach a block boundary. */
export function padding(n: number): number {
  const r = n % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}
