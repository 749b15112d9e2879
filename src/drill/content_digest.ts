/**
 * The per-volume content digest (SPEC §10), built entry by entry: one sha256
 * over the sorted lines
 *
 *   <type> <mode & 07777 in octal> <uid>:<gid> <size> <sha256 of content | link target> <rel>
 *
 * for the volume root ("" rel) and every entry under it. Directories and
 * symlinks have size 0; a hard link counts as a file with its target's
 * content; a sparse file counts with its real size and its holes as zeros
 * (what an extraction holds); fifos and other specials are `special` lines.
 * A file's content hash is FileHasher's: plain sha256 up to 1 MiB, above it
 * the sha256 of its 1 MiB chunks' sha256s (digests marked `c2:`), so the
 * packer hashes a large file once: the chunks' digests also name its frames.
 *
 * The packer feeds it while it reads the volumes (so a capture never reads
 * its archive back), `archiveDigests` from an archive's entries and
 * `treeDigest` from a directory on disk; all three give the same digest for
 * the same tree.
 */
import { createHash, type Hash } from "node:crypto";
import type { TarEntryHeader } from "../tar/write_header.ts";

export type DigestEntryType = "file" | "dir" | "symlink" | "hardlink" | "fifo" | "special";

export interface DigestEntry {
  index: number;
  /** Path relative to the volume root; "" for the root itself. */
  rel: string;
  type: DigestEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Content bytes (a sparse file's real size). */
  size: number;
  /** Symlink: its target; hard link: the target's `rel` in the same volume. */
  link?: string;
  /** Sparse file: data segments as [offset, length, …]; `data` then brings only those. */
  sparseMap?: number[];
}

const ZEROS = new Uint8Array(1 << 16);

/** Files above this are hashed in chunks of it (and the frame store cuts them so). */
export const DIGEST_CHUNK = 1 << 20;
/** How a digest made with FileHasher's chunked rule is marked (older ones are plain hex). */
export const CHUNKED_DIGEST = "c2:";
const CHUNKS_TAG = "volsnap-chunks\n";

/**
 * One file's content hash: sha256 of the bytes up to DIGEST_CHUNK of them;
 * above, sha256 over CHUNKS_TAG and each DIGEST_CHUNK piece's raw sha256.
 * `chunks` collects those pieces' digests as they complete.
 */
export class FileHasher {
  readonly chunks: Uint8Array[] = [];
  #size: number;
  /** Created on first use: a small file hashed elsewhere (endFileLater) never needs one. */
  #hash?: Hash;
  #outer?: Hash;
  #fill = 0;
  #seen = 0;

  constructor(size: number) {
    this.#size = size;
    if (size > DIGEST_CHUNK) this.#outer = createHash("sha256").update(CHUNKS_TAG);
  }

  update(bytes: Uint8Array): void {
    if (!this.#outer) {
      this.#h().update(bytes);
      return;
    }
    let off = 0;
    while (off < bytes.length) {
      const n = Math.min(DIGEST_CHUNK - this.#fill, bytes.length - off);
      this.#h().update(off === 0 && n === bytes.length ? bytes : bytes.subarray(off, off + n));
      this.#fill += n;
      this.#seen += n;
      off += n;
      // Closed as soon as complete: the frame store names a chunk's frame by it.
      if (this.#fill === DIGEST_CHUNK || this.#seen === this.#size) this.#closeChunk();
    }
  }

  digest(): string {
    if (!this.#outer) return this.#h().digest("hex");
    if (this.#fill > 0) this.#closeChunk();
    return this.#outer.digest("hex");
  }

  #h(): Hash {
    return this.#hash ??= createHash("sha256");
  }

  #closeChunk() {
    const d = this.#h().digest();
    this.chunks.push(d);
    this.#outer!.update(d);
    this.#hash = undefined;
    this.#fill = 0;
  }
}

export const sha256Hex = (s: string | Uint8Array) => createHash("sha256").update(s).digest("hex");

export function digestLine(
  type: string,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  what: string,
  rel: string,
): string {
  return `${type} ${(mode & 0o7777).toString(8)} ${uid}:${gid} ${size} ${what} ${
    JSON.stringify(rel)
  }`;
}

/** The digest of one volume's lines (sorted in place). */
export function digestOfLines(lines: string[]): string {
  lines.sort();
  return sha256Hex(lines.join("\n"));
}

interface OpenFile {
  e: DigestEntry;
  h: FileHasher;
  keep: boolean;
  /** Sparse: logical offset reached, segment being filled and what it still needs. */
  at: number;
  seg: number;
  segLeft: number;
}

/** A content sha256 that is known later (set on the object), e.g. by a frame worker. */
export interface LaterSha {
  sha256?: string;
}

/** A line, or one whose content sha256 arrives later (rendered by `result`). */
type Line = string | (() => string);

export class ContentDigester {
  #lines = new Map<number, Line[]>();
  /** `${index}/${rel}` → the line fields of files hard links may point at. */
  #targets = new Map<
    string,
    { mode: number; uid: number; gid: number; size: number; sha: string | LaterSha }
  >();
  #cur?: OpenFile;

  /** Declares a volume (so an empty one still gets its digest). */
  volume(index: number): void {
    if (!this.#lines.has(index)) this.#lines.set(index, []);
  }

  /**
   * Starts an entry. A file's content follows through `data` / `zeros` and
   * ends with `endFile` (or at the next entry). `keepForLinks`: a later hard
   * link may name this file.
   */
  entry(e: DigestEntry, keepForLinks = true): void {
    if (this.#cur) this.endFile();
    const out = this.#out(e.index);
    switch (e.type) {
      case "file":
        this.#cur = {
          e,
          h: new FileHasher(e.size),
          keep: keepForLinks,
          at: 0,
          seg: -2,
          segLeft: 0,
        };
        return;
      case "dir":
        out.push(digestLine("dir", e.mode, e.uid, e.gid, 0, "-", e.rel));
        return;
      case "symlink":
        out.push(digestLine("symlink", 0o777, e.uid, e.gid, 0, sha256Hex(e.link ?? ""), e.rel));
        return;
      case "hardlink": {
        // Same content and inode metadata as its target, seen earlier.
        const t = this.#targets.get(`${e.index}/${e.link}`);
        out.push(
          t
            ? lineOf(t, t.sha, e.rel)
            : digestLine("file", e.mode, e.uid, e.gid, e.size, "?", e.rel),
        );
        return;
      }
      default:
        out.push(digestLine("special", e.mode, e.uid, e.gid, 0, "-", e.rel));
    }
  }

  /** Content of the current file (of a sparse file: its data segments, in order). */
  data(bytes: Uint8Array): void {
    const f = this.#cur;
    if (!f) return;
    const map = f.e.sparseMap;
    if (!map) {
      f.h.update(bytes);
      return;
    }
    let off = 0;
    while (off < bytes.length) {
      if (f.segLeft === 0) {
        f.seg += 2;
        if (f.seg >= map.length) return; // more data than the map holds: not ours to count
        this.#zerosTo(f, map[f.seg]);
        f.segLeft = map[f.seg + 1];
        continue;
      }
      const n = Math.min(f.segLeft, bytes.length - off);
      f.h.update(bytes.subarray(off, off + n));
      f.at += n;
      f.segLeft -= n;
      off += n;
    }
  }

  /** `n` zero bytes of content (a file that shrank while read is stored zero-filled). */
  zeros(n: number): void {
    while (n > 0) {
      const k = Math.min(n, ZEROS.length);
      this.data(k === ZEROS.length ? ZEROS : ZEROS.subarray(0, k));
      n -= k;
    }
  }

  /** The chunk digests of the file being hashed (filled as its content arrives). */
  currentChunks(): Uint8Array[] | undefined {
    return this.#cur?.h.chunks;
  }

  /** Ends the current file with a content sha256 known without its bytes (not read). */
  endFileKnown(sha: string): void {
    const f = this.#cur!;
    this.#cur = undefined;
    this.#record(f.e, sha, f.keep);
  }

  /**
   * Ends the current file, whose bytes were not given to `data`: its content
   * sha256 is set on `later` before `result` is called.
   */
  endFileLater(later: LaterSha): void {
    const f = this.#cur!;
    this.#cur = undefined;
    this.#record(f.e, later, f.keep);
  }

  /** Ends the current file; returns its content sha256. */
  endFile(): string {
    const f = this.#cur!;
    this.#cur = undefined;
    if (f.e.sparseMap) this.#zerosTo(f, f.e.size);
    const sha = f.h.digest();
    this.#record(f.e, sha, f.keep);
    return sha;
  }

  /** Digest per volume index. */
  result(): Record<string, string> {
    if (this.#cur) this.endFile();
    const out: Record<string, string> = {};
    for (const [index, lines] of this.#lines) {
      const text = lines.map((l) => typeof l === "string" ? l : l());
      out[String(index)] = CHUNKED_DIGEST + digestOfLines(text);
    }
    return out;
  }

  #record(e: DigestEntry, sha: string | LaterSha, keep: boolean) {
    this.#out(e.index).push(lineOf(e, sha, e.rel));
    if (keep) {
      this.#targets.set(`${e.index}/${e.rel}`, {
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        sha,
      });
    }
  }

  /** Hashes the hole between a sparse file's position and `to`. */
  #zerosTo(f: OpenFile, to: number) {
    while (f.at < to) {
      const k = Math.min(to - f.at, ZEROS.length);
      f.h.update(k === ZEROS.length ? ZEROS : ZEROS.subarray(0, k));
      f.at += k;
    }
  }

  #out(index: number): Line[] {
    let l = this.#lines.get(index);
    if (!l) this.#lines.set(index, l = []);
    return l;
  }
}

/** A file's line; with a sha256 still to come, a function that renders it then. */
function lineOf(
  f: { mode: number; uid: number; gid: number; size: number },
  sha: string | LaterSha,
  rel: string,
): Line {
  if (typeof sha === "string") return digestLine("file", f.mode, f.uid, f.gid, f.size, sha, rel);
  return () => {
    if (!sha.sha256) throw new Error(`content digest: the sha256 of '${rel}' never arrived`);
    return digestLine("file", f.mode, f.uid, f.gid, f.size, sha.sha256, rel);
  };
}

/** The digest's view of a tar entry the packer writes under `volumes/<index>/` (prefixLength chars). */
export function digestEntryOf(h: TarEntryHeader, index: number, prefixLength: number): DigestEntry {
  const slash = h.path.endsWith("/") ? h.path.length - 1 : h.path.length;
  return {
    index,
    rel: h.path.slice(prefixLength, Math.max(slash, prefixLength)),
    type: h.type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.sparse?.realSize ?? h.size,
    link: h.type === "hardlink"
      ? h.linkTarget!.slice(prefixLength)
      : h.type === "symlink"
      ? h.linkTarget
      : undefined,
    sparseMap: h.sparse?.map,
  };
}
