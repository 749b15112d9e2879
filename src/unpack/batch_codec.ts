/**
 * The archive worker's batch events in a compact form: numbers in one
 * Float64Array (transferred, not cloned) and names in one string array. An
 * object per entry cost ~0.2 µs per field to clone on each side, for 60,000
 * entries a GiB; this way a batch crosses threads as two flat values.
 *
 * Event layout in `nums`, in stream order:
 *   ENTRY index type mode uid gid mtimeMs size implicitCount xattrCount
 *         mapLength [realSize map…]
 *     (strs: rel, link for symlinks and hard links, then implicitCount dirs,
 *      then xattrCount attribute names; bins: their values)
 *   DATA offset length   (a piece of the current file's data in the batch buffer)
 * mapLength is -1 for a file that is not sparse.
 */
import type { VolumeEntry } from "./reader.ts";
import type { TarEntryType } from "../tar/read_tar.ts";

const ENTRY = 0;
const DATA = 1;
const TYPES: TarEntryType[] = ["file", "dir", "symlink", "hardlink", "fifo"];
const TYPE_CODE: Record<TarEntryType, number> = {
  file: 0,
  dir: 1,
  symlink: 2,
  hardlink: 3,
  fifo: 4,
};
const hasLink = (type: TarEntryType) => type === "symlink" || type === "hardlink";

export interface EncodedBatch {
  nums: Float64Array;
  strs: string[];
  bins: Uint8Array[];
}

export class BatchEncoder {
  #nums = new Float64Array(4096);
  #len = 0;
  #strs: string[] = [];
  #bins: Uint8Array[] = [];

  entry(e: VolumeEntry) {
    const map = e.sparse?.map;
    this.#reserve(11 + (map ? map.length + 1 : 0));
    const n = this.#nums;
    let i = this.#len;
    n[i++] = ENTRY;
    n[i++] = e.index;
    n[i++] = TYPE_CODE[e.type];
    n[i++] = e.mode;
    n[i++] = e.uid;
    n[i++] = e.gid;
    n[i++] = e.mtimeMs;
    n[i++] = e.size;
    n[i++] = e.implicitDirs.length;
    n[i++] = e.xattrs?.length ?? 0;
    n[i++] = map ? map.length : -1;
    if (map) {
      n[i++] = e.sparse!.realSize;
      for (const v of map) n[i++] = v;
    }
    this.#len = i;
    this.#strs.push(e.rel);
    if (hasLink(e.type)) this.#strs.push(e.link);
    for (const d of e.implicitDirs) this.#strs.push(d);
    for (const x of e.xattrs ?? []) {
      this.#strs.push(x.name);
      this.#bins.push(x.value);
    }
  }

  data(offset: number, length: number) {
    this.#reserve(3);
    const n = this.#nums;
    n[this.#len++] = DATA;
    n[this.#len++] = offset;
    n[this.#len++] = length;
  }

  /** The events so far (the encoder starts afresh). */
  take(): EncodedBatch {
    const batch = { nums: this.#nums.slice(0, this.#len), strs: this.#strs, bins: this.#bins };
    this.#len = 0;
    this.#strs = [];
    this.#bins = [];
    return batch;
  }

  #reserve(k: number) {
    if (this.#len + k <= this.#nums.length) return;
    // Doubled until it fits: one entry (a sparse map of thousands of segments) can need more.
    let n = this.#nums.length * 2;
    while (n < this.#len + k) n *= 2;
    const grown = new Float64Array(n);
    grown.set(this.#nums.subarray(0, this.#len));
    this.#nums = grown;
  }
}

export interface BatchVisitor {
  entry(e: VolumeEntry): void;
  data(piece: Uint8Array): void;
}

/** Replays a batch in order: entries, and pieces of `data`. */
export function decodeBatch(b: EncodedBatch, data: Uint8Array, to: BatchVisitor) {
  const { nums, strs, bins } = b;
  let s = 0;
  let x = 0;
  for (let i = 0; i < nums.length;) {
    if (nums[i] === DATA) {
      to.data(data.subarray(nums[i + 1], nums[i + 1] + nums[i + 2]));
      i += 3;
      continue;
    }
    const type = TYPES[nums[i + 2]];
    const rel = strs[s++];
    const link = hasLink(type) ? strs[s++] : "";
    const implicit = nums[i + 8];
    const implicitDirs = strs.slice(s, s + implicit);
    s += implicit;
    const xattrCount = nums[i + 9];
    const mapLength = nums[i + 10];
    let xattrs: VolumeEntry["xattrs"];
    for (let k = 0; k < xattrCount; k++) {
      (xattrs ??= []).push({ name: strs[s++], value: bins[x++] });
    }
    let sparse: VolumeEntry["sparse"];
    if (mapLength >= 0) {
      sparse = {
        realSize: nums[i + 11],
        map: Array.from(nums.subarray(i + 12, i + 12 + mapLength)),
      };
    }
    const e: VolumeEntry = {
      index: nums[i + 1],
      rel,
      type,
      mode: nums[i + 3],
      uid: nums[i + 4],
      gid: nums[i + 5],
      mtimeMs: nums[i + 6],
      size: nums[i + 7],
      link,
      implicitDirs,
    };
    if (xattrs) e.xattrs = xattrs;
    if (sparse) e.sparse = sparse;
    to.entry(e);
    i += 11 + (mapLength >= 0 ? mapLength + 1 : 0);
  }
}
