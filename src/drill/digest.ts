/**
 * The per-volume content digest (SPEC §10, defined in content_digest.ts) of
 * an archive and of a tree on disk. The capture records it while packing;
 * `archiveDigests` computes it from an archive's entries (archives written
 * without one), `treeDigest` from a directory tree (a drill's extraction).
 * Equal digests mean the tree a restore would write holds exactly what the
 * capture archived.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
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
 * so it compares equal to what the capture recorded for the same tree.
 */
export async function treeDigest(root: string, recorded = CHUNKED_DIGEST): Promise<string> {
  const chunked = recorded.startsWith(CHUNKED_DIGEST);
  const lines: string[] = [];
  const visit = async (rel: string) => {
    const path = rel ? join(root, rel) : root;
    const st = await Deno.lstat(path);
    const mode = st.mode ?? 0;
    const uid = st.uid ?? 0;
    const gid = st.gid ?? 0;
    if (st.isSymlink) {
      lines.push(
        digestLine("symlink", 0o777, uid, gid, 0, sha256Hex(await Deno.readLink(path)), rel),
      );
    } else if (st.isDirectory) {
      lines.push(digestLine("dir", mode, uid, gid, 0, "-", rel));
      const names: string[] = [];
      for await (const e of Deno.readDir(path)) names.push(e.name);
      for (const n of names.sort()) await visit(rel ? `${rel}/${n}` : n);
    } else if (st.isFile) {
      const h = chunked ? new FileHasher(st.size) : createHash("sha256");
      const f = await Deno.open(path, { read: true });
      for await (const chunk of f.readable) h.update(chunk);
      const sha = h instanceof FileHasher ? h.digest() : h.digest("hex");
      lines.push(digestLine("file", mode, uid, gid, st.size, sha, rel));
    } else {
      lines.push(digestLine("special", mode, uid, gid, 0, "-", rel));
    }
  };
  await visit("");
  return (chunked ? CHUNKED_DIGEST : "") + digestOfLines(lines);
}
