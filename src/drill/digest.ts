/**
 * The per-volume content digest (SPEC §10, defined in content_digest.ts) of
 * an archive and of a tree on disk. The capture records it while packing;
 * `archiveDigests` computes it from an archive's entries (archives written
 * without one), `treeDigest` from a directory tree (a drill's extraction).
 * Equal digests mean the tree a restore would write holds exactly what the
 * capture archived.
 */
import { createHash } from "node:crypto";
import { AT_FDCWD, volumeFs } from "../pack/volume_fs.ts";
import type { ArchiveLimits } from "../tar/limits.ts";
import { decodeBatch } from "../unpack/batch_codec.ts";
import type { VolumeEntry } from "../unpack/reader.ts";
import { OffThreadWalk } from "../unpack/walk_thread.ts";
import {
  CHUNKED_DIGEST,
  ContentDigester,
  digestLine,
  digestOfLines,
  FileHasher,
  sha256Hex,
} from "./content_digest.ts";

/** How much work (bytes read; 4 KiB per entry) between two yields to the event loop. */
const YIELD_EVERY = 8 << 20;

/**
 * Digest per manifest volume index, from the archive at `path` (or its
 * stream). Captures record theirs while packing (content_digest.ts); this is
 * for archives that were written without one.
 */
export async function archiveDigests(
  path: string | ReadableStream<Uint8Array>,
  limits: ArchiveLimits,
): Promise<Record<string, string>> {
  const src = typeof path === "string" ? { path, hash: false } : { stream: path };
  const walk = new OffThreadWalk(src, { limits, withData: true });
  const digester = new ContentDigester();
  const visitor = {
    entry(e: VolumeEntry) {
      digester.entry({
        index: e.index,
        rel: e.rel,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.sparse?.realSize ?? e.size,
        link: e.link,
        sparseMap: e.sparse?.map,
      });
    },
    data(piece: Uint8Array) {
      digester.data(piece);
    },
  };
  for await (const m of walk.messages()) {
    if (m.type === "manifest") {
      for (const v of m.manifest.volumes) digester.volume(v.index);
    } else decodeBatch(m.events, m.data, visitor);
  }
  return digester.result();
}

/**
 * Digest of the tree under `root` (never follows symlinks), by the rule of
 * `recorded` (a `c2:` digest hashes large files in chunks; an older one not),
 * so it compares equal to what the capture recorded for the same tree. Walks
 * with the packer's file system calls, so names that are not UTF-8 are the
 * same strings the capture recorded; yields to the event loop as it goes.
 */
export async function treeDigest(root: string, recorded = CHUNKED_DIGEST): Promise<string> {
  const chunked = recorded.startsWith(CHUNKED_DIGEST);
  const vfs = volumeFs();
  const lines: string[] = [];
  const buf = new Uint8Array(1 << 20);
  let sinceYield = 0;
  const pause = async (bytes: number) => {
    sinceYield += bytes + 4096;
    if (sinceYield < YIELD_EVERY) return;
    sinceYield = 0;
    await new Promise((r) => setTimeout(r, 0));
  };
  const contentSha = async (fd: number, size: number) => {
    const h = chunked ? new FileHasher(size) : createHash("sha256");
    for (;;) {
      const n = vfs.read(fd, buf);
      if (!n) break;
      h.update(buf.subarray(0, n));
      await pause(n);
    }
    return h instanceof FileHasher ? h.digest() : h.digest("hex");
  };
  const visit = async (dirFd: number, rel: string) => {
    for (const name of vfs.list(dirFd).sort()) {
      const st = vfs.lstatAt(dirFd, name);
      const child = rel ? `${rel}/${name}` : name;
      const { mode, uid, gid } = st;
      if (st.kind === "symlink") {
        lines.push(
          digestLine("symlink", 0o777, uid, gid, 0, sha256Hex(vfs.readLinkAt(dirFd, name)), child),
        );
      } else if (st.kind === "dir") {
        lines.push(digestLine("dir", mode, uid, gid, 0, "-", child));
        const fd = vfs.openDirAt(dirFd, name);
        try {
          await visit(fd, child);
        } finally {
          vfs.close(fd);
        }
      } else if (st.kind === "file") {
        const fd = vfs.openFileAt(dirFd, name);
        try {
          lines.push(
            digestLine("file", mode, uid, gid, st.size, await contentSha(fd, st.size), child),
          );
        } finally {
          vfs.close(fd);
        }
      } else {
        lines.push(digestLine("special", mode, uid, gid, 0, "-", child));
      }
      await pause(0);
    }
  };
  const rootFd = vfs.openDirAt(AT_FDCWD, root);
  try {
    const st = vfs.fstat(rootFd);
    lines.push(digestLine("dir", st.mode, st.uid, st.gid, 0, "-", ""));
    await visit(rootFd, "");
  } finally {
    vfs.close(rootFd);
  }
  return (chunked ? CHUNKED_DIGEST : "") + digestOfLines(lines);
}
