/**
 * The frame store (SPEC §15): independent zstd frames kept once each, in
 * append-only pack files under `<data>/frames/packs/`.
 *
 * A frame is named by its id: the sha256 of the compression settings and its
 * uncompressed bytes (frame_id.ts). Each capture that produces new frames
 * writes one pack file `<name>.pack` (the compressed frames, back to back)
 * and then its index `<name>.idx` (id, offset, sizes of each frame), both by
 * the durable recipe (temp → fsync → rename → fsync dir). A pack is never
 * changed after that; compaction writes live frames into a new pack and only
 * then removes the old one's index and the old pack.
 *
 * Crash safety follows from the order: a frame is findable only once its
 * pack and index are durable, and a snapshot's frame list is written only
 * after that (snapshot_frames.ts). A pack without an index (a crash between
 * the two) is never referenced and is removed at open.
 */
import { join } from "node:path";
import zlib from "node:zlib";
import { isTempName, openDurableWriter, syncDir, writeFileDurable } from "../fs/durable.ts";
import { RwLock } from "./rw_lock.ts";
import { scanZstdFrames } from "../compression/zstd_frames.ts";
import { variantFrameId } from "./frame_id.ts";
// A cycle (frame_reader.ts imports this module), used only inside methods.
import { PackReader } from "./frame_reader.ts";

/** Where one frame's compressed bytes are. */
export interface FrameLocation {
  pack: string;
  offset: number;
  size: number;
  rawSize: number;
}

/**
 * One frame as a snapshot lists it: a stored frame whole, or (`from` set) a
 * span of one: `size` compressed bytes from `from` on, which are whole zstd
 * frames holding `rawSize` bytes (the sub-frames a changed chunk keeps of its
 * parent's, sub_frames.ts).
 */
export interface FrameRef {
  id: string;
  size: number;
  rawSize: number;
  from?: number;
}

/**
 * Where a reference's bytes are in `loc` (the stored frame it names), or
 * undefined when they cannot be there: a whole reference must match the
 * stored sizes, a span must lie inside them.
 */
export function refLocation(
  loc: FrameLocation | undefined,
  f: FrameRef,
): FrameLocation | undefined {
  if (!loc) return undefined;
  if (f.from === undefined) {
    return loc.size === f.size && loc.rawSize === f.rawSize ? loc : undefined;
  }
  if (f.from + f.size > loc.size || f.rawSize > loc.rawSize) return undefined;
  return { pack: loc.pack, offset: loc.offset + f.from, size: f.size, rawSize: f.rawSize };
}

/** The sub-frame sizes of `bytes` when each one decodes to what its header says; else undefined. */
function intactLayout(bytes: Uint8Array): string | undefined {
  const frames = scanZstdFrames(bytes);
  if (!frames) return undefined;
  try {
    for (const f of frames) {
      const raw = zlib.zstdDecompressSync(bytes.subarray(f.offset, f.offset + f.size));
      if (f.rawSize !== undefined && raw.length !== f.rawSize) return undefined;
    }
  } catch {
    return undefined;
  }
  return frames.map((f) => f.size).join(",");
}

const IDX_MAGIC = "VSFIDX01";
/** Frames are written to a pack this many bytes at a time (PackWriter.append). */
const STAGE = 4 << 20;
/** id (32) + offset (8) + size (4) + rawSize (4). */
const IDX_RECORD = 48;

export class FrameStore {
  readonly dir: string;
  readonly packsDir: string;
  #frames = new Map<string, FrameLocation>();
  #packBytes = new Map<string, number>();
  /** Captures and readers share it; compaction takes it alone. */
  readonly lock = new RwLock();

  private constructor(dir: string) {
    this.dir = dir;
    this.packsDir = join(dir, "packs");
  }

  /** Opens (creating) the store at `dir`, loading every pack index. */
  static async open(dir: string): Promise<FrameStore> {
    const s = new FrameStore(dir);
    await Deno.mkdir(s.packsDir, { recursive: true, mode: 0o700 });
    await s.#load();
    return s;
  }

  async #load() {
    await this.sweep();
    // Oldest first, the newest copy of a frame wins: a frame is stored twice
    // only when a capture re-wrote it because the older copy was damaged.
    const indexes: { name: string; mtime: number }[] = [];
    for await (const e of Deno.readDir(this.packsDir)) {
      if (!e.name.endsWith(".idx") || isTempName(e.name)) continue;
      const st = await Deno.stat(join(this.packsDir, e.name));
      indexes.push({ name: e.name, mtime: st.mtime?.getTime() ?? 0 });
    }
    indexes.sort((a, b) => a.mtime - b.mtime || (a.name < b.name ? -1 : 1));
    for (const { name } of indexes) {
      try {
        this.#addIndex(name.slice(0, -4), await Deno.readFile(join(this.packsDir, name)));
      } catch (err) {
        // One damaged index costs the snapshots that use its frames (they
        // report integrity_error), not the whole store; its pack is kept.
        this.damagedIndexes.push(name);
        console.error(`volsnap: frame index ${name} is unreadable, its frames are missing: ${err}`);
      }
    }
  }

  /** Index files that could not be read when the store was opened (their packs are kept). */
  readonly damagedIndexes: string[] = [];

  /**
   * Crash leftovers (recovery sweep): temp files of packs and indexes, and
   * packs whose index was never written, which nothing can reference.
   * Returns how many files it removed. Only while nothing writes the store.
   */
  async sweep(): Promise<number> {
    const names = new Set<string>();
    for await (const e of Deno.readDir(this.packsDir)) names.add(e.name);
    let removed = 0;
    for (const n of names) {
      const orphanPack = n.endsWith(".pack") && !names.has(n.slice(0, -5) + ".idx");
      if (isTempName(n) || (orphanPack && !this.#packBytes.has(n.slice(0, -5)))) {
        await Deno.remove(join(this.packsDir, n)).catch(() => {});
        removed++;
      }
    }
    if (removed) await syncDir(this.packsDir);
    return removed;
  }

  #addIndex(pack: string, bytes: Uint8Array) {
    const head = new TextDecoder().decode(bytes.subarray(0, 8));
    if (head !== IDX_MAGIC || (bytes.length - 8) % IDX_RECORD !== 0) {
      throw new Error(`frame index ${pack}.idx is damaged`);
    }
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let total = 0;
    for (let off = 8; off < bytes.length; off += IDX_RECORD) {
      const id = toHex(bytes.subarray(off, off + 32));
      const loc = {
        pack,
        offset: Number(v.getBigUint64(off + 32, true)),
        size: v.getUint32(off + 40, true),
        rawSize: v.getUint32(off + 44, true),
      };
      total += loc.size;
      this.#frames.set(id, loc);
    }
    this.#packBytes.set(pack, total);
  }

  has(id: string): boolean {
    return this.#frames.has(id);
  }

  get(id: string): FrameLocation | undefined {
    return this.#frames.get(id);
  }

  /** Pack names with their byte counts. */
  packs(): Map<string, number> {
    return new Map(this.#packBytes);
  }

  /** Every frame id with its location. */
  entries(): IterableIterator<[string, FrameLocation]> {
    return this.#frames.entries();
  }

  /** Bytes of all frames that are findable (a duplicate counts once). */
  storedBytes(): number {
    let n = 0;
    for (const [, loc] of this.#frames) n += loc.size;
    return n;
  }

  /** Starts a new pack; its frames become findable when `commit` resolves. */
  /**
   * `fresh`: the pack takes no frame from the store (it stores its own copy
   * of every frame, which then replaces the store's): for a capture after a
   * frame was found damaged.
   */
  async newPack(name: string, opts: { fresh?: boolean } = {}): Promise<PackWriter> {
    const path = join(this.packsDir, name + ".pack");
    const out = await openDurableWriter(path, 0o600);
    return new PackWriter(this, name, out, opts.fresh ?? false);
  }

  /** Called by PackWriter.commit once pack and index are durable. */
  registerPack(name: string, index: Uint8Array) {
    this.#addIndex(name, index);
  }

  /**
   * Drops `ids` from every pack index but `keep`'s, durably (each index by
   * the write recipe): their bytes there become dead, for compaction.
   */
  async supersede(ids: Set<string>, keep: string): Promise<void> {
    for (const pack of [...this.#packBytes.keys()]) {
      if (pack === keep) continue;
      const path = join(this.packsDir, pack + ".idx");
      const old = await Deno.readFile(path);
      const kept: Uint8Array[] = [];
      let total = 0;
      for (let off = 8; off < old.length; off += IDX_RECORD) {
        const rec = old.subarray(off, off + IDX_RECORD);
        if (ids.has(toHex(rec.subarray(0, 32)))) continue;
        kept.push(rec);
        total += new DataView(rec.buffer, rec.byteOffset + 40, 4).getUint32(0, true);
      }
      if (kept.length === (old.length - 8) / IDX_RECORD) continue;
      const idx = new Uint8Array(8 + kept.length * IDX_RECORD);
      idx.set(old.subarray(0, 8));
      kept.forEach((r, i) => idx.set(r, 8 + i * IDX_RECORD));
      await writeFileDurable(path, idx, 0o600);
      this.#packBytes.set(pack, total);
    }
  }

  /**
   * Removes a pack whose frames are all dead or copied elsewhere: its index
   * first (so no reader finds it), then the pack. Caller holds the lock
   * alone and has relocated every live frame first.
   */
  async removePack(name: string) {
    await Deno.remove(join(this.packsDir, name + ".idx")).catch(ignoreNotFound);
    await syncDir(this.packsDir);
    for (const [id, loc] of [...this.#frames]) if (loc.pack === name) this.#frames.delete(id);
    this.#packBytes.delete(name);
    await Deno.remove(join(this.packsDir, name + ".pack")).catch(ignoreNotFound);
    await syncDir(this.packsDir);
  }

  /** Points `id` at a copy in another (durable, indexed) pack. */
  relocate(id: string, loc: FrameLocation) {
    this.#frames.set(id, loc);
  }
}

/** An open pack being appended to (one capture or one compaction). */
export class PackWriter {
  readonly name: string;
  #store: FrameStore;
  #out: Awaited<ReturnType<typeof openDurableWriter>>;
  #records: { id: string; offset: number; size: number; rawSize: number }[] = [];
  #pending = new Map<string, FrameLocation>();
  /** Frames this fresh pack stored under a variant id: id → variant. */
  #variants = new Map<string, string>();
  #offset = 0;
  #stage = new Uint8Array(STAGE);
  #stageLen = 0;

  #fresh: boolean;

  constructor(
    store: FrameStore,
    name: string,
    out: Awaited<ReturnType<typeof openDurableWriter>>,
    fresh: boolean,
  ) {
    this.#fresh = fresh;
    this.#store = store;
    this.name = name;
    this.#out = out;
  }

  /** Bytes appended so far. */
  get bytes(): number {
    return this.#offset;
  }

  /** Where a frame's bytes are on disk now, and where they will be once committed. */
  fileOf(loc: FrameLocation): { path: string; committedPath: string } {
    const committedPath = join(this.#store.packsDir, loc.pack + ".pack");
    return { path: loc.pack === this.name ? this.#out.tempPath : committedPath, committedPath };
  }

  /** Whether `id` is findable in the store or already in this pack. */
  has(id: string): boolean {
    return this.#pending.has(id) || this.#variants.has(id) || (!this.#fresh && this.#store.has(id));
  }

  /** The id `id`'s bytes are stored under by this pack (a variant, see `append`). */
  storedId(id: string): string {
    return this.#variants.get(id) ?? id;
  }

  /**
   * Appends one compressed frame; returns the id it is stored under. Small
   * frames are gathered and written STAGE bytes at a time (`flush` writes
   * the rest): one awaited write per 64 KiB frame made a capture of 4000
   * such files 2 s slower.
   *
   * In a fresh pack a copy of a frame the store has replaces the older copy
   * at commit (the repair of a damaged one), but only where every reference
   * to the older copy stays whole: same size, and for a `spanTarget` (a
   * chunk of sub-frames, a patch: others list spans of it) the same
   * sub-frames at the same offsets, unless the older copy does not decode
   * (then its spans are broken anyway). Another zstd build compressing the
   * same bytes otherwise makes a copy under a variant id instead.
   */
  async append(
    id: string,
    frame: Uint8Array,
    rawSize: number,
    spanTarget = false,
  ): Promise<string> {
    if (this.#fresh && !this.#pending.has(id)) {
      const stored = await this.#freshId(id, frame, spanTarget);
      if (stored !== id) this.#variants.set(id, stored);
      id = stored;
    }
    const loc = { pack: this.name, offset: this.#offset, size: frame.length, rawSize };
    if (frame.length >= STAGE / 2) {
      await this.flush(); // the gathered frames come first in the file
      await this.#out.write(frame);
    } else {
      if (this.#stageLen + frame.length > STAGE) await this.flush();
      this.#stage.set(frame, this.#stageLen);
      this.#stageLen += frame.length;
    }
    this.#offset += frame.length;
    this.#records.push({ id, ...loc });
    this.#pending.set(id, loc);
    return id;
  }

  /** `id`, or a variant of it when replacing the store's copy would break references to it. */
  async #freshId(id: string, frame: Uint8Array, spanTarget: boolean): Promise<string> {
    const old = this.#store.get(id);
    if (!old) return id;
    if (old.size !== frame.length) return variantFrameId(id, frame);
    if (!spanTarget) return id;
    const reader = new PackReader(this.#store);
    const before = await reader.read(old).then(intactLayout, () => undefined);
    reader.close();
    return before === undefined || before === intactLayout(frame) ? id : variantFrameId(id, frame);
  }

  /** Writes gathered frames to the pack file (before its bytes are read back). */
  async flush(): Promise<void> {
    if (this.#stageLen === 0) return;
    const n = this.#stageLen;
    this.#stageLen = 0;
    await this.#out.write(this.#stage.subarray(0, n));
  }

  /** Where a frame is: appended to this pack (not yet committed) or in the store. */
  location(id: string): FrameLocation | undefined {
    return this.#pending.get(this.storedId(id)) ?? this.#store.get(id);
  }

  /** Makes pack and index durable and the frames findable; with no frames, writes nothing. */
  async commit(fault?: (name: string) => Promise<void>): Promise<void> {
    if (this.#records.length === 0) return await this.#out.abort();
    await this.flush();
    await this.#out.commit();
    await fault?.("frames.pack-written");
    const idx = new Uint8Array(8 + this.#records.length * IDX_RECORD);
    idx.set(new TextEncoder().encode(IDX_MAGIC));
    const v = new DataView(idx.buffer);
    let off = 8;
    for (const r of this.#records) {
      idx.set(fromHex(r.id), off);
      v.setBigUint64(off + 32, BigInt(r.offset), true);
      v.setUint32(off + 40, r.size, true);
      v.setUint32(off + 44, r.rawSize, true);
      off += IDX_RECORD;
    }
    await writeFileDurable(join(this.#store.packsDir, this.name + ".idx"), idx, 0o600);
    this.#store.registerPack(this.name, idx);
    // A fresh pack re-stored frames the store already had (found damaged):
    // the older copies leave their packs' indexes, so exactly one copy of
    // each frame is left (which copy wins then never depends on file times,
    // and compaction never keeps a damaged copy over a good one).
    if (this.#fresh) {
      await this.#store.supersede(new Set(this.#records.map((r) => r.id)), this.name);
    }
  }

  async abort(): Promise<void> {
    await this.#out.abort();
  }
}

function ignoreNotFound(err: unknown) {
  if (!(err instanceof Deno.errors.NotFound)) throw err;
}

export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, "0");
  return s;
}

export function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const opened = new Map<string, Promise<FrameStore>>();

/** The process-wide store of a data dir (`<data>/frames`), opened on first use. */
export function frameStoreAt(dataDir: string): Promise<FrameStore> {
  let s = opened.get(dataDir);
  if (!s) {
    s = FrameStore.open(join(dataDir, "frames"));
    s.catch(() => opened.delete(dataDir));
    opened.set(dataDir, s);
  }
  return s;
}
