/**
 * A full framed capture has its small files' contents hashed by the frame
 * worker (pool_hashes.ts): the content digest it records, the recipes that
 * name its groups and the file records a later capture reuses must be what
 * hashing them on the packer's thread gives.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { treeDigest } from "../../src/drill/digest.ts";
import { equalBytes, framedCapture, fullTar, streamBytes, zstdDecode } from "./frames_helpers.ts";

async function tree(root: string) {
  await Deno.mkdir(join(root, "a/b"), { recursive: true });
  for (let i = 0; i < 400; i++) {
    await Deno.writeFile(join(root, "a/b", `f${i}`), pseudoRandom(i * 53, i));
  }
  await Deno.writeFile(join(root, "a/empty"), new Uint8Array(0));
  await Deno.writeFile(join(root, "a/own"), pseudoRandom(100 * 1024, 7)); // a frame of its own
  await Deno.writeFile(join(root, "a/mib"), pseudoRandom(1 << 20, 8)); // the largest small file
  // Hard links name a file hashed in the pool: their digest lines take its sha256.
  await Deno.link(join(root, "a/b/f10"), join(root, "a/hard10"));
  await Deno.link(join(root, "a/own"), join(root, "a/b/hard-own"));
  const x = await new Deno.Command("setfattr", {
    args: ["-n", "user.k", "-v", "v", join(root, "a/b/f20")],
  }).output();
  assert(x.success, "setfattr failed");
}

Deno.test("pool-hashed small files: digest == tree, groups reused by recipe, stream == tar", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_pool_hashes_" });
  try {
    const src = join(tmp, "src");
    await tree(src);
    const store = await FrameStore.open(join(tmp, "store"));
    const a = await framedCapture(store, src, tmp, "s1");
    assertEquals(a.stats.contentDigest["0"], await treeDigest(src));
    const tarA = await zstdDecode(await streamBytes(store, a.path));
    assert(equalBytes(tarA, await fullTar(src, tmp, "s1")), "full framed stream differs");
    // Nothing changed: every group is found by its recipe (as the packer's
    // thread computes it now) among the first capture's, nothing is stored again.
    const b = await framedCapture(store, src, tmp, "s2", a.parent);
    assert(
      b.stats.frames.storedBytes < 4096,
      `second capture stored ${b.stats.frames.storedBytes}`,
    );
    assertEquals(b.stats.contentDigest["0"], a.stats.contentDigest["0"]);
    // A changed file: the digest follows, and only its group is new.
    await Deno.writeFile(join(src, "a/b/f30"), pseudoRandom(999, 31));
    const c = await framedCapture(store, src, tmp, "s3", b.parent);
    assertEquals(c.stats.contentDigest["0"], await treeDigest(src));
    const stored = c.stats.frames.storedBytes;
    assert(stored < 0.1 * a.stats.frames.storedBytes, `third capture stored ${stored}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
