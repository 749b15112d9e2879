/**
 * Review of the pre-copy's mmap argument (src/pack/live_copy.ts) for
 * quiesce=pause: a paused app keeps its shared mappings, and a page it dirtied
 * through one before the pause stays writable (the paused pass writes nothing
 * back). Once unpaused, the app writes that page again and no time stamp
 * changes. The next capture's pre-copy takes the file as unchanged since that
 * snapshot without opening it (virtual / referenced), so it never writes it
 * back either, and the pass with the app stopped takes the stale copy. (The
 * same holds for an incremental capture without a pre-copy.) Writing back
 * before the stat in a pass where the app is paused, as the pre-copy does,
 * closes it. No Docker: archiveJob is driven as runCapture drives it.
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { treeDigest } from "../../src/drill/digest.ts";
import { jobCapture, lineChild, MiB, sleep, volume, withCtx } from "./precopy_helpers.ts";

const MMAP_WRITER = `
import mmap, sys
maps = []
for path in sys.argv[1:]:
    f = open(path, "r+b")
    m = mmap.mmap(f.fileno(), 0)
    m[0:8] = b"AAAAAAAA"
    maps.append(m)
print("dirty", flush=True)
sys.stdin.readline()
for m in maps:
    m[8:16] = b"BBBBBBBB"
print("again", flush=True)
sys.stdin.readline()
`;

Deno.test("review: writes through a mapping kept across a paused capture are in the next snapshot", async () => {
  await withCtx(async (ctx, catalog, tmp) => {
    const a = await volume(tmp, "a");
    await Deno.writeFile(join(a.hostPath, "small"), pseudoRandom(64 * 1024, 1));
    await Deno.writeFile(join(a.hostPath, "large"), pseudoRandom(3 * MiB, 2));
    const app = lineChild("python3", [
      "-c",
      MMAP_WRITER,
      join(a.hostPath, "small"),
      join(a.hostPath, "large"),
    ]);
    try {
      assertEquals(await app.line(), "dirty");
      await sleep(150);
      // Captured with the app paused: its mappings stay.
      await jobCapture(ctx, catalog, "20260101T000000Z-00000001", [a], undefined, "pause");
      // Unpaused, the app writes the same pages again.
      await app.send("go");
      assertEquals(await app.line(), "again");
      await sleep(150);
      // The next capture (pre-copy, then the pass with the app stopped).
      const next = await jobCapture(ctx, catalog, "20260101T000000Z-00000002", [a]);
      assertEquals(next.fin.precopy && "ms" in next.fin.precopy, true, "the pre-copy ran");
      assertEquals(
        next.fin.contentDigest?.["0"],
        await treeDigest(a.hostPath),
        "the snapshot's content is the volume's",
      );
    } finally {
      await app.close();
    }
  });
});
