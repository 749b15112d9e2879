/** Helpers for the frame store tests: framed captures next to full ones, raw tar bytes. */
import { join } from "node:path";
import { writeSnapshotArchive } from "../../src/pack/writer.ts";
import { captureFrames, type FramedParent } from "../../src/frames/frame_writer.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";
import { framesStream } from "../../src/frames/frame_reader.ts";
import type { FrameStore } from "../../src/frames/store.ts";
import { draft } from "../pack/writer_helpers.ts";

export async function zstdDecode(bytes: Uint8Array): Promise<Uint8Array> {
  const p = new Deno.Command("zstd", { args: ["-d", "-c", "-q"], stdin: "piped", stdout: "piped" })
    .spawn();
  const w = p.stdin.getWriter();
  const out = new Response(p.stdout).arrayBuffer();
  await w.write(bytes);
  await w.close();
  const st = await p.status;
  if (!st.success) throw new Error("zstd -d failed");
  return new Uint8Array(await out);
}

/** The tar bytes a full single-stream capture writes for `dir` (compression none). */
export async function fullTar(dir: string, scratch: string, id = "s"): Promise<Uint8Array> {
  const path = join(scratch, `${id}.tar`);
  await writeSnapshotArchive({
    finalPath: path,
    manifest: { ...draft(), snapshotId: id },
    sources: [{ index: 0, hostPath: dir }],
    compression: "none",
  });
  const bytes = await Deno.readFile(path);
  await Deno.remove(path);
  return bytes;
}

export interface Framed {
  path: string;
  parent: FramedParent;
  stats: Awaited<ReturnType<Awaited<ReturnType<typeof captureFrames>>["finalize"]>>;
}

/** A framed capture of `dir` as volume 0, finalized (`fresh`: as after a damaged parent). */
export async function framedCapture(
  store: FrameStore,
  dir: string,
  scratch: string,
  id: string,
  parent?: FramedParent,
  fresh = false,
): Promise<Framed> {
  const path = join(scratch, `${id}.frames`);
  const c = await captureFrames({
    store,
    finalPath: path,
    manifest: { ...draft(), snapshotId: id },
    sources: [{ index: 0, hostPath: dir }],
    parent,
    fresh,
  });
  const stats = await c.finalize();
  const snap = await readFramedSnapshot(path);
  return { path, stats, parent: { snap, volumeKeys: ["volume:v0"] } };
}

/** Text rows (compressible, a different line each): page-structured when cut to whole pages. */
export const rowsText = new TextEncoder().encode(
  Array.from({ length: 120_000 }, (_, i) => `row ${i} value=${(i * 7919) % 10007}\n`).join(""),
);

/** A full capture of `dir` that stores its own copy of every frame (as after a damaged parent). */
export async function freshCapture(store: FrameStore, dir: string, scratch: string, id: string) {
  const { path, parent } = await framedCapture(store, dir, scratch, id, undefined, true);
  return { path, snap: parent.snap };
}

/** The standalone stream of a framed snapshot, as bytes. */
export async function streamBytes(store: FrameStore, path: string): Promise<Uint8Array> {
  const snap = await readFramedSnapshot(path);
  const release = await store.lock.shared();
  return new Uint8Array(
    await new Response(framesStream(store, snap.frames, release)).arrayBuffer(),
  );
}

export async function sha256Hex(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** First differing offset, for messages. */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** xorshift32: the property tests' reproducible choices (a seed replays a failure). */
export class Rng {
  #x: number;
  constructor(seed: number) {
    this.#x = seed >>> 0 || 1;
  }
  next(): number {
    this.#x ^= this.#x << 13;
    this.#x >>>= 0;
    this.#x ^= this.#x >>> 17;
    this.#x ^= this.#x << 5;
    this.#x >>>= 0;
    return this.#x;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(a: T[]): T {
    return a[this.int(a.length)];
  }
}

/**
 * One property round: an incremental capture of `dir` against `prev`, whose
 * stream must be byte for byte the full capture's tar; `where` names the
 * round (seed and mutations) in a failure.
 */
export async function incrementalRound(
  store: FrameStore,
  dir: string,
  scratch: string,
  id: string,
  prev: Framed,
  where: string,
): Promise<Framed> {
  const cur = await framedCapture(store, dir, scratch, id, prev.parent);
  const got = await zstdDecode(await streamBytes(store, cur.path));
  const want = await fullTar(dir, scratch, id);
  if (!equalBytes(got, want)) {
    throw new Error(`stream differs at byte ${firstDiff(got, want)}; ${where}`);
  }
  if (!cur.stats.frames.incremental) throw new Error(`not incremental; ${where}`);
  return cur;
}
