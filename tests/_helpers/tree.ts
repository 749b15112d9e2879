/**
 * Fingerprint of a directory tree: every path with its type, mode, owner,
 * mtime (files and links), link target, content hash, and hard-link groups.
 * Two trees are equal for volsnap when their fingerprints are equal.
 */
import { lstatSync, readlinkSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";

export interface TreeEntry {
  type: "file" | "dir" | "symlink" | "other";
  mode: number;
  uid: number;
  gid: number;
  mtimeMs?: number;
  target?: string;
  sha256?: string;
  size?: number;
  /** Index of the hard-link group (first path of the group), for files with nlink > 1. */
  linkGroup?: string;
}

export function fingerprint(
  root: string,
  opts: { mtimes?: boolean } = {},
): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const inodes = new Map<number, string>();
  const walk = (abs: string, rel: string) => {
    const st = lstatSync(abs);
    const e: TreeEntry = {
      type: st.isFile()
        ? "file"
        : st.isDirectory()
        ? "dir"
        : st.isSymbolicLink()
        ? "symlink"
        : "other",
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
    };
    if (e.type === "file") {
      e.size = st.size;
      e.sha256 = createHash("sha256").update(Deno.readFileSync(abs)).digest("hex");
      if (opts.mtimes !== false) e.mtimeMs = Math.floor(st.mtimeMs);
      if (st.nlink > 1) {
        const first = inodes.get(st.ino);
        if (first) e.linkGroup = first;
        else {
          inodes.set(st.ino, rel);
          e.linkGroup = rel;
        }
      }
    } else if (e.type === "symlink") {
      e.target = readlinkSync(abs);
      e.mode = 0; // link modes are meaningless on Linux
    }
    out[rel || "."] = e;
    if (e.type === "dir") {
      const names = [...Deno.readDirSync(abs)].map((d) => d.name).sort();
      for (const n of names) walk(join(abs, n), rel ? `${rel}/${n}` : n);
    }
  };
  walk(root, "");
  return out;
}

/** Human-readable differences, empty when equal. */
export function diffTrees(a: Record<string, TreeEntry>, b: Record<string, TreeEntry>): string[] {
  const diffs: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = JSON.stringify(a[k]);
    const y = JSON.stringify(b[k]);
    if (x !== y) diffs.push(`${k}: ${x} != ${y}`);
  }
  return diffs.sort();
}
