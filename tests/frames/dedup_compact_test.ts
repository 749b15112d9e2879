import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { compactFrames } from "../../src/frames/compact.ts";
import {
  equalBytes,
  framedCapture,
  fullTar,
  sha256Hex,
  streamBytes,
  zstdDecode,
} from "./frames_helpers.ts";

async function dataset(root: string) {
  await Deno.mkdir(join(root, "d"), { recursive: true });
  for (let i = 0; i < 3; i++) await Deno.writeFile(join(root, `big${i}`), pseudoRandom(3 << 20, i));
  for (let i = 0; i < 50; i++) {
    await Deno.writeFile(join(root, "d", `s${i}`), pseudoRandom(5000, 50 + i));
  }
}

Deno.test("two workloads with the same data share frames; pruning one keeps the other whole", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_dedup_" });
  try {
    const a = join(tmp, "a");
    const b = join(tmp, "b");
    await dataset(a);
    await Deno.mkdir(b);
    await new Deno.Command("cp", { args: ["-a", `${a}/.`, b] }).output();
    // Data only a has: what pruning a can reclaim.
    await Deno.writeFile(join(a, "own"), pseudoRandom(5 << 20, 99));
    const archives = join(tmp, "archives");
    await Deno.mkdir(archives);
    const store = await FrameStore.open(join(tmp, "store"));
    const sa = await framedCapture(store, a, archives, "wa");
    const sb = await framedCapture(store, b, archives, "wb");
    // b's data frames are a's: new are only its manifest and the group of small
    // files that a's extra file ends differently.
    assert(sb.stats.frames.storedBytes < 512 * 1024, `b stored ${sb.stats.frames.storedBytes}`);
    assert(sb.stats.frames.sharedBytes > 8 << 20, `b shared ${sb.stats.frames.sharedBytes}`);
    const before = store.storedBytes();

    await Deno.remove(sa.path); // retention drops a's references
    const r = await compactFrames(store, { archives, orphans: join(tmp, "orphans") });
    assertEquals(r.skipped, undefined);
    assert(r.bytesReclaimed > 4 << 20, `a's own frames were reclaimed: ${r.bytesReclaimed}`);
    assertEquals(r.packsRewritten, 1);
    assert(store.storedBytes() < before);
    const streamB = await streamBytes(store, sb.path);
    assertEquals(await sha256Hex(streamB), sb.stats.stats.sha256);
    assert(equalBytes(await zstdDecode(streamB), await fullTar(b, tmp, "wb")), "b is whole");
    // The same from a store opened afresh (what a restart sees).
    const reopened = await FrameStore.open(join(tmp, "store"));
    assertEquals(await sha256Hex(await streamBytes(reopened, sb.path)), sb.stats.stats.sha256);

    // Compaction waits for readers: it never runs while a stream is open.
    const release = await store.lock.shared();
    assertEquals(
      (await compactFrames(store, { archives, orphans: join(tmp, "orphans") })).skipped,
      "the frame store is in use",
    );
    release();

    await Deno.remove(sb.path);
    const last = await compactFrames(store, { archives, orphans: join(tmp, "orphans") });
    assert(last.packsRemoved >= 1);
    assertEquals(store.storedBytes(), 0);
    const left = [...Deno.readDirSync(store.packsDir)].map((e) => e.name);
    assertEquals(left, []);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
