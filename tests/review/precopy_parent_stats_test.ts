/**
 * Review of the pre-copy's bookkeeping in src/engine/archive_job.ts `finish`:
 *  1. when the pre-copy could not use the catalog parent (here: the
 *     workload's volumes changed since it) it reads everything, and the pass
 *     with the app stopped is incremental against the pre-copy; `finish`
 *     then forces `incremental = !!parent.parent`, so the snapshot names a
 *     parentId it shares nothing with and loses its fullReason;
 *  2. `sharedBytes -= pre.storedBytes` assumes the stopped pass referenced
 *     every frame the pre-copy stored: a file that changed again between the
 *     passes leaves pre-copy frames unreferenced, and the frames shared with
 *     the parent snapshot are under-counted by their size.
 * No Docker: archiveJob is driven as runCapture drives it.
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { frameStoreAt } from "../../src/frames/store.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { jobCapture as capture, MiB, sleep, volume, withCtx } from "./precopy_helpers.ts";

Deno.test("review: a pre-copy that could not use the parent leaves the snapshot full (no parentId, its fullReason)", async () => {
  await withCtx(async (ctx, catalog, tmp) => {
    const a = await volume(tmp, "a");
    await Deno.writeFile(join(a.hostPath, "big"), pseudoRandom(3 * MiB, 1));
    const first = await capture(ctx, catalog, "20260101T000000Z-00000001", [a]);
    assertEquals(first.fin.parentId, undefined);
    // A volume added to the workload: the parent's volumes are not these.
    const b = await volume(tmp, "b");
    await Deno.writeFile(join(b.hostPath, "x"), pseudoRandom(1000, 2));
    await sleep(150);
    const second = await capture(ctx, catalog, "20260101T000000Z-00000002", [a, b]);
    assertEquals(second.fin.precopy && "ms" in second.fin.precopy, true, "the pre-copy ran");
    assertEquals(
      {
        parentId: second.fin.parentId,
        incremental: second.fin.frames?.incremental,
        fullReason: second.fin.frames?.fullReason,
      },
      {
        parentId: undefined,
        incremental: false,
        fullReason: "the workload's volumes changed since the parent",
      },
    );
  });
});

Deno.test("review: frames shared with the parent are counted when a pre-copied file changed again", async () => {
  await withCtx(async (ctx, catalog, tmp) => {
    const a = await volume(tmp, "a");
    await Deno.writeFile(join(a.hostPath, "kept"), pseudoRandom(4 * MiB, 1));
    await Deno.writeFile(join(a.hostPath, "hot"), pseudoRandom(4 * MiB, 2));
    await capture(ctx, catalog, "20260101T000000Z-00000001", [a]);
    // Changed since the parent: the pre-copy reads it ...
    await Deno.writeFile(join(a.hostPath, "hot"), pseudoRandom(4 * MiB, 3));
    await sleep(150);
    const store = await frameStoreAt(ctx.paths.root);
    const before = new Set([...store.entries()].map(([id]) => id));
    const second = await capture(
      ctx,
      catalog,
      "20260101T000000Z-00000002",
      [a],
      // ... and the app writes it again before it is stopped.
      () => Deno.writeFile(join(a.hostPath, "hot"), pseudoRandom(4 * MiB, 4)),
    );
    const snap = await readFramedSnapshot(join(ctx.paths.archives, second.job.file));
    const shared = snap.frames.filter((f) => before.has(f.id)).reduce((n, f) => n + f.size, 0);
    assertEquals(second.fin.frames?.sharedBytes, shared, "sharedBytes: the parent's frames kept");
  });
});
