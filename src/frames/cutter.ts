/**
 * Cuts the tar byte stream that src/pack produces into independent zstd
 * frames, around the packer rather than inside it: the packer reports where
 * entries and large files' data start (FrameMarks, by tar offset), and the
 * cutter ends frames there. Whatever headers the packer writes flow through
 * unchanged, so a framed stream is byte for byte the tar a full capture writes.
 *
 * - Small entries are grouped; a group ends before an entry whose path hashes
 *   to a cut (content-defined, so one new file shifts only its own group) or
 *   once it holds GROUP_MAX bytes.
 * - A large file's data (with its padding) is cut into CHUNK-byte frames that
 *   start at the data, so the same data always makes the same frames.
 * - The end-of-archive blocks are a frame of their own.
 *
 * Each frame is named by hash, and stored in the capture's pack unless the
 * store already has it. An unchanged file of the parent (same dev, ino, size,
 * mtime, ctime) is not read at all: a large one's data frames are referenced;
 * a small one's content is taken as known (virtual), and the group it is in
 * references the parent's frame when the group's recipe (frame_recipe.ts) is
 * one of the parent's, else its bytes are copied out of the parent's frame.
 */
import type { FrameCompressor } from "../compression/compress.ts";
import type { FrameMarks } from "../pack/pack_sink.ts";
import type { EntryStat } from "../pack/volume_fs.ts";
import type { FrameResult } from "./frame_pool.ts";
import { FrameBuffers } from "./frame_buffers.ts";
import type { CutterStats, FrameCutterOptions, Mark } from "./cutter_types.ts";
export type { CutterStats, FrameCutterOptions } from "./cutter_types.ts";
import type { FrameRef } from "./store.ts";
import { chunkFrameId, frameId, recipeTag } from "./frame_id.ts";
import { cutBeforeEntry, ownFrame } from "./group_cuts.ts";
import { chunkSpans, keepSubFrames } from "./sub_frame_spans.ts";
import { PAGE, pageStructured, SUB_FRAME } from "./sub_frames.ts";
import { FrameRecipe } from "./frame_recipe.ts";
import { PoolHashes } from "./pool_hashes.ts";
import { DIGEST_CHUNK, type LaterSha } from "../drill/content_digest.ts";
import { type FileRecord, identity, ParentFrames, sameFile, type VirtualSource } from "./parent.ts";

/** Data chunk size of large files. */
export const CHUNK = DIGEST_CHUNK;
/** No frame is larger (a cut is forced inside a huge header run). */
const FRAME_MAX = 3 << 20;
const BATCH = 4 << 20;

export class FrameCutter implements FrameCompressor, FrameMarks {
  /** The snapshot's frames, once `finish` resolved. */
  list: FrameRef[] = [];
  /** Each frame's recipe (null: none, e.g. a large file's chunk), by list index. */
  recipes: (string | null)[] = [];
  /** File records; their `first` and `count` index `list` once `finish` resolved. */
  readonly files: FileRecord[] = [];
  /**
   * Until then, one slot per frame cut, in stream order: a chunk kept as
   * spans of its parent's sub-frames takes several references in its slot.
   */
  #slots: FrameRef[][] = [];
  #slotRecipes: (string | null)[] = [];
  readonly stats: CutterStats = {
    frameCount: 0,
    newFrames: 0,
    storedBytes: 0,
    sharedBytes: 0,
    reusedRawBytes: 0,
  };
  #o: FrameCutterOptions;
  #marks: Mark[] = [];
  /** Tar offset of the next byte pushed. */
  #pos = 0;
  /** Where the last queued cut is (for the group size rule). */
  #lastCut = 0;
  #region?: { next: number; end: number; startIdx: number; rec?: Mark & { kind: "region" } };
  #openRegion?: Mark & { kind: "region" };
  #cur: Uint8Array;
  #curLen = 0;
  #buffers = new FrameBuffers(FRAME_MAX);
  #batch?: Uint8Array;
  #chain: Promise<void> = Promise.resolve();
  #failure: unknown;
  #recipe: FrameRecipe;
  /** A small file's content being pushed: it ends at `end`, in frame `slot` if not cut. */
  #data?: { at: number; end: number; slot: number; rec: FileRecord };
  #openSmall?: FileRecord;
  /** Virtual data in the current frame, filled from the parent's frame when it must be built. */
  #holes: { off: number; len: number; src: VirtualSource }[] = [];
  #parentFrames?: ParentFrames;
  /** Small files of the current frame a frame worker hashes. */
  #pooled = new PoolHashes();

  constructor(o: FrameCutterOptions) {
    this.#o = o;
    this.#cur = new Uint8Array(new ArrayBuffer(FRAME_MAX));
    this.#recipe = new FrameRecipe(recipeTag(o.level));
  }

  // ---- FrameMarks (called by the packer) ----

  entry(at: number, path: string, size: number): void {
    if (cutBeforeEntry(at - this.#lastCut, path, size)) this.#queue({ at, kind: "cut" });
  }

  largeData(
    at: number,
    path: string,
    st: EntryStat,
    length: number,
    chunks?: Uint8Array[],
  ): string | undefined {
    const id = identity(path, st);
    const prev = this.#o.parent?.files.get(path);
    // A record without its content sha256 (an older list) cannot feed the digest: read the file.
    if (prev?.sha256 && sameFile(prev, id)) {
      const frames = this.#o.parent!.frames.slice(prev.first, prev.first + prev.count);
      const rawLen = frames.reduce((n, f) => n + f.rawSize, 0);
      if (rawLen === length && frames.every((f) => this.#o.pack.has(f.id))) {
        const rec = { ...id, first: 0, count: 0, sha256: prev.sha256 };
        this.#queue({ at, kind: "ref", frames, rawLen, rec });
        this.#lastCut = at + length;
        return prev.sha256;
      }
    }
    const sub = pageStructured(st.size, length) ? SUB_FRAME : undefined;
    const old = sub && prev && prev.count > 0 && prev.size % PAGE === 0
      ? chunkSpans(this.#o.parent!.frames.slice(prev.first, prev.first + prev.count))
      : undefined;
    const m: Mark = {
      at,
      kind: "region",
      end: at + length,
      rec: { ...id, first: 0, count: 0 },
      chunks,
      sub,
      parentChunks: old,
    };
    this.#openRegion = m;
    this.#queue(m);
    this.#lastCut = at + length;
    return undefined;
  }

  largeDataEnd(contentSha: string | undefined): void {
    // A file that changed or shrank while read is not remembered for reuse.
    // (Its record may already be in `files`: it is the same object.)
    const rec = this.#openRegion?.rec;
    if (rec) {
      if (contentSha) rec.sha256 = contentSha;
      else rec.count = -1;
    }
    this.#openRegion = undefined;
  }

  unchangedSmall(path: string, st: EntryStat): VirtualSource | undefined {
    const prev = this.#o.parent?.files.get(path);
    if (!prev?.sha256 || prev.count !== 0 || prev.offset === undefined) return undefined;
    if (!sameFile(prev, identity(path, st))) return undefined;
    const frame = this.#o.parent!.frames[prev.first];
    if (!frame || !this.#o.pack.has(frame.id)) return undefined;
    return { frame, offset: prev.offset, size: prev.size, sha256: prev.sha256 };
  }

  smallData(
    at: number,
    path: string,
    st: EntryStat,
    length: number,
    size: number,
  ): LaterSha | undefined {
    const rec: FileRecord = { ...identity(path, st), first: 0, count: -1 };
    this.#openSmall = rec;
    // A full capture's frame worker hashes it (pool_hashes.ts) when it ends in the frame it starts in.
    const pool = !this.#o.parent && length > 0 && at + length - this.#lastCut <= FRAME_MAX;
    if (length > 0) this.#queue({ at, kind: "data", len: length, rec, pool: pool ? size : -1 });
    if (ownFrame(st.size)) this.#queue({ at: at + length, kind: "cut" });
    return pool ? rec : undefined;
  }

  smallDataEnd(contentSha: string | LaterSha | undefined, reusable: boolean): void {
    const rec = this.#openSmall;
    this.#openSmall = undefined;
    if (!rec || !contentSha) return;
    if (typeof contentSha === "string") rec.sha256 = contentSha; // else set by the pool
    if (reusable) this.files.push(rec);
  }

  virtualData(at: number, length: number, src: VirtualSource, path: string, st: EntryStat): void {
    const rec: FileRecord = { ...identity(path, st), first: 0, count: -1, sha256: src.sha256 };
    this.files.push(rec);
    this.#queue({ at, kind: "virtual", len: length, src, rec });
    if (ownFrame(st.size)) this.#queue({ at: at + length, kind: "cut" });
  }

  /**
   * The files a later capture may reference (read whole and unchanged). One
   * whose times are not known exactly (the fallback file system calls give no
   * ctime) is never "unchanged", so it is not recorded.
   */
  get reusableFiles(): FileRecord[] {
    return this.files.filter((f) =>
      f.count >= 0 && f.sha256 && Number.isFinite(f.ctimeMs) && Number.isFinite(f.mtimeMs)
    );
  }

  end(at: number): void {
    this.#queue({ at, kind: "cut" });
  }

  #queue(m: Mark) {
    this.#marks.push(m);
    if (m.kind === "cut") this.#lastCut = m.at;
  }

  // ---- FrameCompressor (the sink pushes tar bytes in order) ----

  acquire(): Uint8Array {
    const b = this.#batch ?? new Uint8Array(BATCH);
    this.#batch = undefined;
    return b;
  }

  async push(batch: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    let off = 0;
    for (;;) {
      await this.#applyMarks();
      if (off === batch.length) break;
      const d = this.#data;
      const inData = !!d && this.#pos < d.end;
      const next = Math.min(this.#nextCut(), inData ? d!.end : Infinity);
      const take = Math.min(batch.length - off, next - this.#pos, FRAME_MAX - this.#curLen);
      const bytes = batch.subarray(off, off + take);
      // A large file's chunks and small files' content are not part of recipes.
      if (!inData && !this.#region) this.#recipe.literal(bytes);
      this.#cur.set(bytes, this.#curLen);
      this.#curLen += take;
      this.#pos += take;
      off += take;
      if (this.#curLen === FRAME_MAX) await this.#endFrame();
    }
    this.#batch = new Uint8Array(batch.buffer, 0, BATCH);
  }

  async finish(): Promise<void> {
    await this.#applyMarks();
    await this.#endFrame();
    if (this.#marks.length) throw new Error("frame marks beyond the end of the stream");
    await this.#buffers.drain();
    await this.#chain;
    this.#parentFrames?.close();
    this.#parentFrames = undefined;
    if (this.#failure) throw this.#failure;
    this.#flatten();
  }

  /** The slots as one list; file records re-pointed from slots to list indexes. */
  #flatten() {
    const at: number[] = [];
    for (const [i, refs] of this.#slots.entries()) {
      at.push(this.list.length);
      refs.forEach((f, j) => {
        this.list.push(f);
        this.recipes.push(j === 0 ? this.#slotRecipes[i] : null);
      });
    }
    at.push(this.list.length);
    // A record can be in `files` twice (it is the same object): re-point it once.
    for (const f of new Set(this.files)) {
      if (f.count < 0) continue;
      const first = at[f.first];
      f.count = f.count === 0 ? 0 : at[f.first + f.count] - first;
      f.first = first;
    }
    this.stats.frameCount = this.list.length;
  }

  // deno-lint-ignore require-await
  async close(): Promise<void> {
    this.#failure ??= new Error("frame cutter closed");
    this.#parentFrames?.close();
    this.#parentFrames = undefined;
  }

  #nextCut(): number {
    let n = this.#marks.length ? this.#marks[0].at : Infinity;
    if (this.#region) n = Math.min(n, this.#region.next, this.#region.end);
    return n;
  }

  /** Applies every mark and chunk cut that sits at the current offset. */
  async #applyMarks() {
    for (;;) {
      const d = this.#data;
      if (d && this.#pos === d.end) {
        // Recorded for reuse only when the content stayed inside one frame.
        this.#data = undefined;
        if (this.#slots.length === d.slot) d.rec.count = 0;
      }
      const r = this.#region;
      if (r && this.#pos === Math.min(r.next, r.end)) {
        await this.#endFrame();
        if (this.#pos === r.end) {
          this.#region = undefined;
          const rec = r.rec?.rec;
          if (rec && rec.count !== -1) {
            rec.first = r.startIdx;
            rec.count = this.#slots.length - r.startIdx;
            this.files.push(rec);
          }
        } else r.next += CHUNK;
        continue;
      }
      const m = this.#marks[0];
      if (!m || m.at !== this.#pos) return;
      this.#marks.shift();
      if (m.kind === "data") {
        if (m.pool >= 0) this.#pooled.add(this.#curLen, m.pool, m.rec);
        this.#data = { at: m.at, end: m.at + m.len, slot: this.#slots.length, rec: m.rec };
        m.rec.first = this.#slots.length;
        m.rec.offset = this.#curLen;
        this.#recipe.data(this.#curLen, m.len, m.rec);
        continue;
      }
      if (m.kind === "virtual") {
        if (this.#curLen + m.len > FRAME_MAX) await this.#endFrame();
        m.rec.first = this.#slots.length;
        m.rec.offset = this.#curLen;
        m.rec.count = 0;
        this.#recipe.data(this.#curLen, m.len, m.rec);
        this.#holes.push({ off: this.#curLen, len: m.len, src: m.src });
        this.#curLen += m.len;
        this.#pos += m.len;
        this.stats.reusedRawBytes += m.len;
        continue;
      }
      await this.#endFrame();
      if (m.kind === "region") {
        this.#region = { next: m.at + CHUNK, end: m.end, startIdx: this.#slots.length, rec: m };
        if (m.end === m.at) this.#region = undefined;
      } else if (m.kind === "ref") {
        const first = this.#slots.length;
        this.#slots.push(m.frames.slice());
        this.#slotRecipes.push(null);
        for (const f of m.frames) this.stats.sharedBytes += f.size;
        this.stats.reusedRawBytes += m.rawLen;
        this.files.push({ ...m.rec, first, count: 1 });
        this.#pos += m.rawLen;
      }
    }
  }

  /** Hands the bytes gathered since the last cut to the pool as one frame. */
  async #endFrame() {
    if (this.#curLen === 0) return;
    if (this.#failure) throw this.#failure;
    const d = this.#data;
    const midData = !!d && this.#pos > d.at && this.#pos < d.end;
    if (midData || this.#region) this.#recipe.invalidate();
    const pooled = this.#pooled;
    this.#pooled = new PoolHashes();
    if (midData && pooled.has(d!.rec)) throw new Error("a small file hashed in the pool was cut");
    // With contents a frame worker hashes, the recipe is known once it did.
    const later = this.#recipe.finishLater();
    const recipe = pooled.empty ? later() : null;
    if (midData) this.#recipe.invalidate(); // the next frame starts inside that file too
    const slot = this.#slots.length;
    this.#slotRecipes.push(recipe);
    const len = this.#curLen;
    // A large file's chunk is named by its content digest's chunk hash (hashed once).
    const r = this.#region;
    const chunk = r?.rec?.chunks?.[slot - r.startIdx];
    const sub = chunk ? r?.rec?.sub : undefined;
    const named = recipe ?? (chunk && chunkFrameId(this.#o.level, len, chunk, sub));
    // The parent has a frame made of exactly these bytes: reference it, read nothing more.
    const same = recipe ? this.#o.parent?.recipes.get(recipe) : undefined;
    if (same && same.rawSize === len && this.#o.pack.has(same.id)) {
      this.#holes = [];
      this.#curLen = 0;
      this.#slots.push([same]);
      this.stats.sharedBytes += same.size;
      return;
    }
    this.#parentFrames ??= new ParentFrames(this.#o.store);
    this.#parentFrames.fill(this.#cur, this.#holes);
    this.#holes = [];
    // A changed chunk of a page-structured file: its parent's chunk, for the sub-frames to keep.
    const oldChunk = sub && named && !this.#o.pack.has(named)
      ? r?.rec?.parentChunks?.[slot - r.startIdx]
      : undefined;
    const old = oldChunk && this.#parentFrames.compressed(oldChunk);
    const { buf, cur } = this.#buffers.input(this.#cur, len);
    this.#cur = cur;
    this.#curLen = 0;
    this.#slots.push([]);
    const { pool, level, pack, hashFirst } = this.#o;
    const outBuf = () => this.#buffers.output(len);
    let job: Promise<FrameResult>;
    if (!pooled.empty) {
      job = pooled.run(pool, level, buf, len, outBuf(), later, (r) => this.#slotRecipes[slot] = r);
    } else if (named || this.#o.hashHere) {
      // A group is named by its recipe, a chunk by its content hash (their
      // bytes are not hashed again); other frames here when this thread has
      // time to spare. A known frame is not even sent.
      const id = named || frameId(level, new Uint8Array(buf, 0, len));
      const subFrames = sub
        ? { sub, parent: old?.bytes.buffer as ArrayBuffer, parentLen: old?.bytes.length }
        : undefined;
      job = pack.has(id)
        ? Promise.resolve({ id, buf, outLen: 0 })
        : pool.run(level, buf, len, outBuf(), id, subFrames);
    } else {
      job = hashFirst
        ? pool.run(level, buf, len).then((r) =>
          pack.has(r.id) ? r : pool.run(level, r.buf, len, outBuf())
        )
        : pool.run(level, buf, len, outBuf());
    }
    job.catch(() => {});
    const done = this.#chain = this.#chain.then(async () => {
      const r = await job;
      if (r.pieces?.some((p) => p.kept)) {
        this.#slots[slot] = await keepSubFrames(
          this.#o,
          this.stats,
          r,
          len,
          chunk!,
          sub!,
          oldChunk!,
          old!.starts,
        );
        this.#buffers.recycle(r);
        return;
      }
      const known = pack.has(r.id);
      let id = pack.storedId(r.id);
      if (!known) {
        const bytes = new Uint8Array(r.out!, 0, r.outLen);
        id = await pack.append(r.id, bytes, len, !!sub);
        this.stats.newFrames++;
        this.stats.storedBytes += r.outLen;
      }
      const size = pack.location(id)!.size;
      if (known) this.stats.sharedBytes += size;
      this.#slots[slot] = [{ id, size, rawSize: len }];
      this.#buffers.recycle(r);
    });
    done.catch((err) => this.#failure ??= err);
    await this.#buffers.admit(done, buf, len);
    if (this.#failure) throw this.#failure;
  }
}
