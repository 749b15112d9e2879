import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { framedCapture, sha256Hex, streamBytes } from "./frames_helpers.ts";

Deno.test("a damaged pack index costs only the snapshots that use its frames; its pack is kept", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_dmgidx_" });
  try {
    const a = join(tmp, "a");
    const b = join(tmp, "b");
    await Deno.mkdir(a);
    await Deno.mkdir(b);
    await Deno.writeFile(join(a, "x"), pseudoRandom(200_000, 1));
    await Deno.writeFile(join(b, "y"), pseudoRandom(200_000, 2));
    const store = await FrameStore.open(join(tmp, "store"));
    const sa = await framedCapture(store, a, tmp, "sa");
    const sb = await framedCapture(store, b, tmp, "sb");
    const packs = [...Deno.readDirSync(store.packsDir)].map((e) => e.name).sort();
    // b's pack holds only b's own frames (the shared ones are in a's).
    const idxB = packs.find((n) => n.startsWith("sb-") && n.endsWith(".idx"))!;
    await Deno.writeTextFile(join(store.packsDir, idxB), "garbage");
    const reopened = await FrameStore.open(join(tmp, "store"));
    assertEquals(reopened.damagedIndexes, [idxB]);
    assertEquals(await sha256Hex(await streamBytes(reopened, sa.path)), sa.stats.stats.sha256);
    await assertRejects(() => streamBytes(reopened, sb.path));
    // The pack whose index is damaged is not swept away.
    assert(Deno.statSync(join(store.packsDir, idxB.replace(/\.idx$/, ".pack"))).isFile);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
