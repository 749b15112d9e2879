/**
 * Review finding: PackWriter.append wrote a frame of STAGE/2 (2 MiB) or more
 * straight to the pack while smaller frames still sat in the stage, so the
 * large frame landed before them in the file, at an offset other than the one
 * its index record names. Reachable by compaction copying an older capture's
 * ~2 MiB group (before files of 64 KiB-1 MiB were frames of their own, a group
 * could hold up to 1 MiB of small files plus a 1 MiB one).
 */
import { join } from "node:path";
import { assert } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { PackReader } from "../../src/frames/frame_reader.ts";
import { equalBytes } from "../frames/frames_helpers.ts";

Deno.test("pack_stage_order: a large frame appended after staged small ones is read back whole", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_review_stage_" });
  try {
    const store = await FrameStore.open(join(tmp, "store"));
    const small = pseudoRandom(64 << 10, 1);
    const large = pseudoRandom((5 << 20) / 2, 2); // 2.5 MiB: 64 KiB + 2.5 MiB < 4 MiB stage
    const ids = ["a".repeat(64), "b".repeat(64)];
    const pack = await store.newPack("stage-order");
    await pack.append(ids[0], small, small.length);
    await pack.append(ids[1], large, large.length);
    await pack.commit();
    const reopened = await FrameStore.open(join(tmp, "store"));
    const reader = new PackReader(reopened);
    try {
      for (const [i, want] of [small, large].entries()) {
        const got = await reader.read(reopened.get(ids[i])!);
        assert(equalBytes(got, want), `frame ${i} is not its bytes`);
      }
    } finally {
      reader.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
