/** The two passes of a capture with a pre-copy, for the pre-copy tests (here and tests/review). */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { captureFrames, type FramedParent } from "../../src/frames/frame_writer.ts";
import type { FrameStore } from "../../src/frames/store.ts";
import { treeDigest } from "../../src/drill/digest.ts";
import { draft } from "../pack/writer_helpers.ts";
import {
  equalBytes,
  firstDiff,
  fullTar,
  sha256Hex,
  streamBytes,
  zstdDecode,
} from "./frames_helpers.ts";

/** The pass before the quiesce: its frames durable, its result a parent. */
export async function precopy(
  store: FrameStore,
  dir: string,
  scratch: string,
  id: string,
  parent?: FramedParent,
) {
  const c = await captureFrames({
    store,
    finalPath: join(scratch, `${id}.frames`),
    manifest: { ...draft(), snapshotId: id },
    sources: [{ index: 0, hostPath: dir }],
    parent,
    live: { startedMs: Date.now() },
  });
  const { snap, storedBytes, streamHash } = await c.asParent();
  return { parent: { snap, volumeKeys: ["volume:v0"] }, storedBytes, streamHash };
}

/**
 * The pass with the app stopped; its stream must be the full capture's tar,
 * and the sha256 it records (finished from the pre-copy's guess) the stream's.
 */
export async function stoppedPass(
  store: FrameStore,
  dir: string,
  scratch: string,
  id: string,
  pre: Awaited<ReturnType<typeof precopy>>,
) {
  const path = join(scratch, `${id}.frames`);
  const c = await captureFrames({
    store,
    finalPath: path,
    manifest: { ...draft(), snapshotId: id },
    sources: [{ index: 0, hostPath: dir }],
    parent: pre.parent,
    streamHash: pre.streamHash,
  });
  const stats = await c.finalize();
  const stream = await streamBytes(store, path);
  assertEquals(stats.stats.sha256, await sha256Hex(stream), "recorded sha256 is the stream's");
  const got = await zstdDecode(stream);
  const want = await fullTar(dir, scratch, id);
  assert(
    equalBytes(got, want),
    `the snapshot is not the volume as it was when the app stopped: stream differs at byte ${
      firstDiff(got, want)
    } (reused ${stats.frames.reusedRawBytes} bytes)`,
  );
  assertEquals(stats.contentDigest["0"], await treeDigest(dir));
  return { stats };
}
