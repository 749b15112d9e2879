/**
 * Reclaims frames no snapshot references any more (restic's prune is the
 * model). Retention and delete only remove a snapshot's frame list; this
 * then, holding the store's lock alone (so no capture, download, restore or
 * verify runs meanwhile; when one does, compaction waits for a later call):
 *
 *   1. collects the live frames: every frame list under archives/ and
 *      orphans/ (an orphaned list may be the only copy of a snapshot);
 *   2. removes packs with no live frame (index first, then pack);
 *   3. rewrites packs with at least REWRITE_DEAD of dead bytes: their live
 *      frames go to a new pack, made durable with its index before the old
 *      index and pack are removed.
 *
 * A SIGKILL at any point leaves every live frame findable: the old pack is
 * removed only once a durable, indexed copy exists; a frame found in two
 * packs after a crash is the same bytes, and the next run tidies it.
 */
import { join } from "node:path";
import { FRAMES_EXT, readFramedSnapshot } from "./snapshot_frames.ts";
import { PackReader } from "./frame_reader.ts";
import type { FrameStore } from "./store.ts";

/** Rewrite a pack once this share of its bytes is dead. */
const REWRITE_DEAD = 0.2;

export interface CompactResult {
  /** Why nothing was done (the store is in use), else undefined. */
  skipped?: string;
  packsRemoved: number;
  packsRewritten: number;
  bytesReclaimed: number;
  liveFrames: number;
}

export async function compactFrames(
  store: FrameStore,
  dirs: { archives: string; orphans: string },
  fault?: (name: string) => Promise<void>,
): Promise<CompactResult> {
  const result: CompactResult = {
    packsRemoved: 0,
    packsRewritten: 0,
    bytesReclaimed: 0,
    liveFrames: 0,
  };
  const release = store.lock.tryExclusive();
  if (!release) return { ...result, skipped: "the frame store is in use" };
  try {
    const live = new Set<string>();
    for (const dir of [dirs.archives, dirs.orphans]) {
      for await (const path of frameLists(dir)) {
        // An unreadable list could hold frames: reclaim nothing rather than guess.
        const snap = await readFramedSnapshot(path);
        for (const f of snap.frames) live.add(f.id);
      }
    }
    result.liveFrames = live.size;
    const perPack = new Map<string, { live: string[]; liveBytes: number; deadBytes: number }>();
    for (const name of store.packs().keys()) {
      perPack.set(name, { live: [], liveBytes: 0, deadBytes: 0 });
    }
    for (const [id, loc] of store.entries()) {
      const p = perPack.get(loc.pack)!;
      if (live.has(id)) {
        p.live.push(id);
        p.liveBytes += loc.size;
      } else p.deadBytes += loc.size;
    }
    // Bytes a pack holds that the index does not point at (duplicates) are dead too.
    for (const [name, total] of store.packs()) {
      const p = perPack.get(name)!;
      p.deadBytes = total - p.liveBytes;
    }
    for (const [name, p] of perPack) {
      if (p.live.length === 0) {
        await store.removePack(name);
        result.packsRemoved++;
        result.bytesReclaimed += p.deadBytes;
        await fault?.("compact.pack-removed");
      } else if (p.deadBytes > 0 && p.deadBytes >= REWRITE_DEAD * (p.deadBytes + p.liveBytes)) {
        await rewritePack(store, name, p.live, fault);
        result.packsRewritten++;
        result.bytesReclaimed += p.deadBytes;
      }
    }
    return result;
  } finally {
    release();
  }
}

async function rewritePack(
  store: FrameStore,
  old: string,
  liveIds: string[],
  fault?: (name: string) => Promise<void>,
) {
  const pack = await store.newPack(`compact-${Date.now()}-${old.slice(0, 40)}`);
  const reader = new PackReader(store);
  try {
    for (const id of liveIds) {
      const loc = store.get(id)!;
      await pack.append(id, await reader.read(loc), loc.rawSize);
    }
    await fault?.("compact.copied");
    await pack.commit(fault);
  } catch (err) {
    await pack.abort();
    throw err;
  } finally {
    reader.close();
  }
  for (const id of liveIds) store.relocate(id, pack.location(id)!);
  await fault?.("compact.new-pack-durable");
  await store.removePack(old);
}

async function* frameLists(dir: string): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* frameLists(p);
    else if (e.isFile && e.name.endsWith(FRAMES_EXT)) yield p;
  }
}
