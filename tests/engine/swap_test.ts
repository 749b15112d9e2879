import { assertEquals, assertRejects } from "../_helpers/assert.ts";
import { join } from "node:path";
import { removeOwnTree, rollbackVolumes, swapVolume } from "../../src/engine/swap.ts";
import { oldDirFor, STAGING_MARK, stagingDirFor } from "../../src/engine/paths.ts";
import type { RestoreJournalVolume } from "../../src/journal/journal.ts";

async function setup() {
  const root = await Deno.makeTempDir();
  const live = join(root, "_data");
  await Deno.mkdir(live);
  await Deno.writeTextFile(join(live, "f"), "old");
  const staged = stagingDirFor(live, "op1");
  await Deno.mkdir(staged);
  await Deno.writeTextFile(join(staged, "f"), "new");
  const v: RestoreJournalVolume = {
    key: "volume:x",
    live,
    staged,
    old: oldDirFor(live, "op1"),
    type: "volume",
    destinations: [],
  };
  return { root, v };
}

const read = (dir: string) => Deno.readTextFile(join(dir, "f"));
const noop = () => Promise.resolve();
async function entries(dir: string) {
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("rollbackVolumes() restores the old data from every intermediate state of a swap", async (t) => {
  const states: [string, (v: RestoreJournalVolume) => Promise<void>][] = [
    ["nothing swapped yet", noop],
    ["live moved to old, staged not yet in place", (v) => Deno.rename(v.live, v.old)],
    ["fully swapped", (v) => swapVolume(v, noop)],
  ];
  for (const [name, reach] of states) {
    await t.step(name, async () => {
      const { root, v } = await setup();
      await reach(v);
      await rollbackVolumes([v]);
      assertEquals(await read(v.live), "old");
      assertEquals(await entries(root), ["_data"]);
      // Idempotent: a crash during rollback is repaired by running it again.
      await rollbackVolumes([v]);
      assertEquals(await read(v.live), "old");
      assertEquals(await entries(root), ["_data"]);
    });
  }
});

Deno.test("swapVolume() leaves the staged data live and the old data beside it", async () => {
  const { root, v } = await setup();
  await swapVolume(v, noop);
  assertEquals(await read(v.live), "new");
  assertEquals(await read(v.old), "old");
  assertEquals((await entries(root)).length, 2);
});

Deno.test("removeOwnTree() refuses paths that are not volsnap staging dirs", async () => {
  const { v } = await setup();
  await assertRejects(() => removeOwnTree(v.live, STAGING_MARK));
  assertEquals(await read(v.live), "old");
});
