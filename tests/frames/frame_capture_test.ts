import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import {
  equalBytes,
  firstDiff,
  framedCapture,
  fullTar,
  sha256Hex,
  streamBytes,
  zstdDecode,
} from "./frames_helpers.ts";

async function tree(root: string) {
  await Deno.mkdir(join(root, "db"), { recursive: true });
  await Deno.mkdir(join(root, "app/sub"), { recursive: true });
  for (let i = 0; i < 3; i++) {
    await Deno.writeFile(join(root, "db", `big${i}`), pseudoRandom(3 * 1024 * 1024 + 1000 * i, i));
  }
  for (let i = 0; i < 200; i++) {
    await Deno.writeTextFile(join(root, "app/sub", `f${i}.txt`), `file ${i} `.repeat(i * 10));
  }
  await Deno.symlink("sub/f1.txt", join(root, "app/link"));
  await Deno.link(join(root, "db/big0"), join(root, "db/big0.hard"));
}

Deno.test("captureFrames(): the stream is the full capture's tar, and an incremental one too", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_frames_" });
  try {
    const src = join(tmp, "src");
    await tree(src);
    const store = await FrameStore.open(join(tmp, "store"));
    const a = await framedCapture(store, src, tmp, "s1");
    const streamA = await streamBytes(store, a.path);
    assertEquals(streamA.length, a.stats.stats.sizeBytes);
    assertEquals(await sha256Hex(streamA), a.stats.stats.sha256);
    const tarA = await zstdDecode(streamA);
    const wantA = await fullTar(src, tmp, "s1");
    assert(equalBytes(tarA, wantA), `first capture differs at ${firstDiff(tarA, wantA)}`);
    assertEquals(a.stats.frames.incremental, false);
    assert(a.stats.frames.frameCount > 10, `only ${a.stats.frames.frameCount} frames`);

    // A page rewritten inside one large file, a small file changed.
    const f = await Deno.open(join(src, "db/big1"), { write: true });
    await f.seek(1536 * 1024, Deno.SeekMode.Start);
    await f.write(new Uint8Array(8192).fill(7));
    f.close();
    await Deno.writeTextFile(join(src, "app/sub/f3.txt"), "changed");
    const b = await framedCapture(store, src, tmp, "s2", a.parent);
    const tarB = await zstdDecode(await streamBytes(store, b.path));
    const wantB = await fullTar(src, tmp, "s2");
    assert(equalBytes(tarB, wantB), `incremental capture differs at ${firstDiff(tarB, wantB)}`);
    assertEquals(b.stats.frames.incremental, true);
    // big0 (and its hard link) and big2 unchanged: referenced without reading.
    assert(
      b.stats.frames.reusedRawBytes >= 2 * 3 * 1024 * 1024,
      `reused ${b.stats.frames.reusedRawBytes}`,
    );
    // Only the chunk with the page, the manifest, the changed group and end are new.
    assert(b.stats.frames.storedBytes < 1.5 * 1024 * 1024, `stored ${b.stats.frames.storedBytes}`);
    // Same bytes every time.
    assertEquals(await sha256Hex(await streamBytes(store, b.path)), b.stats.stats.sha256);

    // Reopening the store finds every frame.
    const again = await FrameStore.open(join(tmp, "store"));
    assertEquals(await sha256Hex(await streamBytes(again, b.path)), b.stats.stats.sha256);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("captureFrames(): unchanged small files are not read; their groups are the parent's frames", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_frames_small_" });
  try {
    const src = join(tmp, "src");
    for (let d = 0; d < 10; d++) {
      await Deno.mkdir(join(src, `d${d}`), { recursive: true });
      for (let i = 0; i < 150; i++) {
        await Deno.writeFile(
          join(src, `d${d}`, `f${i}`),
          pseudoRandom(1000 + i * 37, d * 1000 + i),
        );
      }
    }
    const store = await FrameStore.open(join(tmp, "store"));
    const a = await framedCapture(store, src, tmp, "s1");
    // The files' data (headers are written anew: reuse counts data bytes).
    let smallBytes = 0;
    for (let i = 0; i < 150; i++) smallBytes += 10 * (1000 + i * 37);
    // One file rewritten, one added, one deleted; every other file is left alone.
    await Deno.writeFile(join(src, "d3/f7"), pseudoRandom(5000, 99));
    await Deno.writeFile(join(src, "d5/new"), pseudoRandom(3000, 98));
    await Deno.remove(join(src, "d8/f20"));
    const b = await framedCapture(store, src, tmp, "s2", a.parent);
    const tarB = await zstdDecode(await streamBytes(store, b.path));
    const wantB = await fullTar(src, tmp, "s2");
    assert(equalBytes(tarB, wantB), `incremental capture differs at ${firstDiff(tarB, wantB)}`);
    assertEquals(b.stats.stats.warnings, []);
    assert(
      b.stats.frames.reusedRawBytes > 0.9 * smallBytes,
      `reused ${b.stats.frames.reusedRawBytes} of ${smallBytes}`,
    );
    // Only the groups with the three changes (and the manifest and end) are new.
    assert(b.stats.frames.storedBytes < 0.25 * a.stats.frames.storedBytes, "few new frames");
    assertEquals(await sha256Hex(await streamBytes(store, b.path)), b.stats.stats.sha256);
    // A third capture off the second (whose records came from virtual files) reuses as much.
    const c = await framedCapture(store, src, tmp, "s3", b.parent);
    assert(
      c.stats.frames.reusedRawBytes > 0.95 * smallBytes,
      `reused ${c.stats.frames.reusedRawBytes}`,
    );
    assert(c.stats.frames.storedBytes < 4096, `stored ${c.stats.frames.storedBytes}`);
    const tarC = await zstdDecode(await streamBytes(store, c.path));
    const wantC = await fullTar(src, tmp, "s3");
    assert(equalBytes(tarC, wantC), `third capture differs at ${firstDiff(tarC, wantC)}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
