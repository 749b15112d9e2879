/**
 * Review probe: page-structured files through several incremental rounds
 * that grow and shrink them by pages, turn them into and out of whole pages,
 * revert a chunk to an earlier content, and hold two identical copies (the
 * same patch twice in one capture). Every stream must be the full tar and its
 * sha256 the recorded one.
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import {
  type Framed,
  framedCapture,
  incrementalRound,
  sha256Hex,
  streamBytes,
} from "../frames/frames_helpers.ts";

const MIB = 1 << 20;

Deno.test("sub_frame_rounds: grow, shrink, unpage, revert and duplicate page files stay whole", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_review_rounds_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src, { recursive: true });
    const text = new TextEncoder().encode(
      Array.from({ length: 400_000 }, (_, i) => `r${i} v=${(i * 31) % 977}\n`).join(""),
    );
    const a = join(src, "a.db");
    const b = join(src, "b.db");
    let content: Uint8Array = text.slice(0, 3 * MIB);
    const orig = content.slice();
    const write = async () => {
      await Deno.writeFile(a, content);
      await Deno.writeFile(b, content);
    };
    await write();
    const store = await FrameStore.open(join(tmp, "store"));
    let prev: Framed = await framedCapture(store, src, tmp, "r0");
    const steps: [string, () => Uint8Array][] = [
      ["page rewrite", () => {
        const c = content.slice();
        c.set(pseudoRandom(4096, 1), 20 * 4096);
        c.set(pseudoRandom(4096, 2), MIB + 4096);
        return c;
      }],
      ["grow by 5 pages", () => {
        const c = new Uint8Array(content.length + 5 * 4096);
        c.set(content);
        c.set(pseudoRandom(5 * 4096, 3), content.length);
        return c;
      }],
      ["shrink by 7 pages", () => content.slice(0, content.length - 7 * 4096)],
      ["not whole pages", () => {
        const c = new Uint8Array(content.length + 100);
        c.set(content);
        return c;
      }],
      ["whole pages again + change", () => {
        const c = content.slice(0, content.length - 100);
        c.set(pseudoRandom(4096, 4), 3 * 4096);
        return c;
      }],
      ["revert to the first content", () => orig.slice()],
      ["one byte per sub-frame of chunk 1", () => {
        const c = content.slice();
        for (let o = MIB; o < 2 * MIB; o += 32768) c[o + 5] ^= 1;
        return c;
      }],
      ["shrink to just over a chunk", () => content.slice(0, MIB + 8192)],
    ];
    for (const [i, [name, step]] of steps.entries()) {
      content = step();
      await write();
      const cur = await incrementalRound(store, src, tmp, `r${i + 1}`, prev, name);
      assertEquals(
        await sha256Hex(await streamBytes(store, cur.path)),
        cur.stats.stats.sha256,
        name,
      );
      prev = cur;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
