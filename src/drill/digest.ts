/**
 * Per-volume content digest (SPEC §10): one sha256 over the sorted lines
 *
 *   <type> <mode & 07777 in octal> <uid>:<gid> <size> <sha256 of content | link target> <rel>
 *
 * for the volume root ("" rel) and every entry under it. Directories and
 * symlinks have size 0; a hard link counts as a file with its target's
 * content. Modification times are left out (a directory's changes as its
 * children are written back).
 *
 * `archiveDigests` computes it from an archive's entries (at capture, right
 * after the archive is durable); `treeDigest` from a directory tree on disk
 * (a drill's extraction). Equal digests mean the tree a restore would write
 * holds exactly what the capture archived.
 */
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";
import type { ArchiveLimits } from "../tar/limits.ts";
import { decodeBatch } from "../unpack/batch_codec.ts";
import type { VolumeEntry } from "../unpack/reader.ts";
import { OffThreadWalk } from "../unpack/walk_thread.ts";

const hex = (h: Hash) => h.digest("hex");
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

function line(
  type: string,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  what: string,
  rel: string,
) {
  return `${type} ${(mode & 0o7777).toString(8)} ${uid}:${gid} ${size} ${what} ${
    JSON.stringify(rel)
  }`;
}

function finish(lines: string[]): string {
  lines.sort();
  return sha(lines.join("\n"));
}

/** Digest per manifest volume index, from the archive file at `path`. */
export async function archiveDigests(
  path: string | ReadableStream<Uint8Array>,
  limits: ArchiveLimits,
): Promise<Record<string, string>> {
  const src = typeof path === "string" ? { path, hash: false } : { stream: path };
  const walk = new OffThreadWalk(src, { limits, withData: true });
  const lines = new Map<number, string[]>();
  const fileHash = new Map<string, string>(); // `${index}/${rel}` → content sha
  let current: { e: VolumeEntry; h: Hash } | undefined;
  const flush = () => {
    if (!current) return;
    const { e, h } = current;
    const digest = hex(h);
    fileHash.set(`${e.index}/${e.rel}`, digest);
    lines.get(e.index)!.push(line("file", e.mode, e.uid, e.gid, e.size, digest, e.rel));
    current = undefined;
  };
  const visitor = {
    entry(e: VolumeEntry) {
      flush();
      if (!lines.has(e.index)) lines.set(e.index, []);
      const out = lines.get(e.index)!;
      if (e.type === "file") current = { e, h: createHash("sha256") };
      else if (e.type === "dir") out.push(line("dir", e.mode, e.uid, e.gid, 0, "-", e.rel));
      else if (e.type === "symlink") {
        out.push(line("symlink", 0o777, e.uid, e.gid, 0, sha(e.link), e.rel));
      } else {
        // Hard link: same content (and inode metadata) as its target, seen earlier.
        const target = out.find((l) => l.endsWith(` ${JSON.stringify(e.link)}`));
        const parts = target?.split(" ") ?? [];
        out.push(
          line(
            "file",
            parseInt(parts[1] ?? "0", 8),
            Number(parts[2]?.split(":")[0] ?? e.uid),
            Number(parts[2]?.split(":")[1] ?? e.gid),
            Number(parts[3] ?? 0),
            fileHash.get(`${e.index}/${e.link}`) ?? "?",
            e.rel,
          ),
        );
      }
    },
    data(piece: Uint8Array) {
      current?.h.update(piece);
    },
  };
  for await (const m of walk.messages()) {
    if (m.type === "manifest") {
      for (const v of m.manifest.volumes) lines.set(v.index, []);
    } else decodeBatch(m.events, m.data, visitor);
  }
  flush();
  const out: Record<string, string> = {};
  for (const [index, l] of lines) out[String(index)] = finish(l);
  return out;
}

/** Digest of the tree under `root` (never follows symlinks). */
export async function treeDigest(root: string): Promise<string> {
  const lines: string[] = [];
  const visit = async (rel: string) => {
    const path = rel ? join(root, rel) : root;
    const st = await Deno.lstat(path);
    const mode = st.mode ?? 0;
    const uid = st.uid ?? 0;
    const gid = st.gid ?? 0;
    if (st.isSymlink) {
      lines.push(line("symlink", 0o777, uid, gid, 0, sha(await Deno.readLink(path)), rel));
    } else if (st.isDirectory) {
      lines.push(line("dir", mode, uid, gid, 0, "-", rel));
      const names: string[] = [];
      for await (const e of Deno.readDir(path)) names.push(e.name);
      for (const n of names.sort()) await visit(rel ? `${rel}/${n}` : n);
    } else if (st.isFile) {
      const h = createHash("sha256");
      const f = await Deno.open(path, { read: true });
      for await (const chunk of f.readable) h.update(chunk);
      lines.push(line("file", mode, uid, gid, st.size, hex(h), rel));
    } else {
      lines.push(line("special", mode, uid, gid, 0, "-", rel));
    }
  };
  await visit("");
  return finish(lines);
}
