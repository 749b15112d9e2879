/**
 * Child process of kill_test.ts: one incremental capture or one compaction
 * on a frame store, SIGKILLed by itself at a named fault point (argument 2,
 * or "none" to be killed from outside at a random moment).
 */
import { join } from "node:path";
import { FrameStore } from "../../src/frames/store.ts";
import { compactFrames } from "../../src/frames/compact.ts";
import { captureFrames } from "../../src/frames/frame_writer.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";
import { draft } from "../pack/writer_helpers.ts";

const [mode, killAt, root, src, parentPath, id] = Deno.args;
const fault = (name: string) => {
  if (name === killAt) Deno.kill(Deno.pid, "SIGKILL");
  return Promise.resolve();
};
const store = await FrameStore.open(join(root, "store"));
if (mode === "capture") {
  const snap = await readFramedSnapshot(parentPath);
  const c = await captureFrames({
    store,
    finalPath: join(root, "archives", `${id}.frames`),
    manifest: { ...draft(), snapshotId: id },
    sources: [{ index: 0, hostPath: src }],
    parent: { snap, volumeKeys: ["volume:v0"] },
    fault,
  });
  await fault("test.captured");
  await c.finalize();
} else {
  await compactFrames(
    store,
    { archives: join(root, "archives"), orphans: join(root, "orphans") },
    fault,
  );
}
await fault("test.done");
