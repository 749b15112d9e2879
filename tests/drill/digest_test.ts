import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { archiveDigests, treeDigest } from "../../src/drill/digest.ts";
import { FileHasher } from "../../src/drill/content_digest.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { captureDir } from "../pack/writer_helpers.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { framedCapture, streamBytes } from "../frames/frames_helpers.ts";

async function sampleTree(root: string) {
  await Deno.mkdir(join(root, "sub/deep"), { recursive: true });
  await Deno.writeTextFile(join(root, "a.txt"), "hello\n");
  await Deno.writeFile(
    join(root, "sub/deep/big.bin"),
    crypto.getRandomValues(new Uint8Array(60_000)),
  );
  await Deno.writeTextFile(join(root, "sub/empty"), "");
  await Deno.symlink("../a.txt", join(root, "sub/link"));
  await Deno.link(join(root, "a.txt"), join(root, "sub/hard"));
  await Deno.chmod(join(root, "a.txt"), 0o640);
}

Deno.test("archiveDigests() at capture equals treeDigest() of the source and of an extraction", async () => {
  const dir = await Deno.makeTempDir({ prefix: "volsnap-digest-" });
  try {
    const src = join(dir, "src");
    await sampleTree(src);
    const archive = join(dir, "a.tar.zst");
    await captureDir(src, archive);
    const fromArchive = await archiveDigests(archive, DEFAULT_LIMITS);
    assertEquals(Object.keys(fromArchive), ["0"]);
    assertEquals(fromArchive["0"], await treeDigest(src));
    const out = join(dir, "out");
    await Deno.mkdir(out);
    await extractArchive({
      sourcePath: archive,
      targetDirFor: () => join(out, "0"),
      limits: DEFAULT_LIMITS,
    });
    assertEquals(await treeDigest(join(out, "0")), fromArchive["0"]);
    // Any change of content, mode or a name changes the digest.
    const before = await treeDigest(join(out, "0"));
    await Deno.writeTextFile(join(out, "0/sub/empty"), "x");
    const changed = await treeDigest(join(out, "0"));
    assert(changed !== before);
    await Deno.writeTextFile(join(out, "0/sub/empty"), "");
    assertEquals(await treeDigest(join(out, "0")), before);
    await Deno.chmod(join(out, "0/a.txt"), 0o600);
    assert(await treeDigest(join(out, "0")) !== before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a framed capture records the digest while packing: equal to the archive's and the tree's, also when it references its parent's files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "volsnap-digest-frames-" });
  try {
    const src = join(dir, "src");
    await sampleTree(src);
    // A large file (chunked, referenced unchanged by the incremental capture),
    // a hard link to it, a sparse file (holes count as zeros), a fifo.
    await Deno.writeFile(join(src, "sub/large.bin"), pseudoRandom(3 * 1024 * 1024 + 77, 9));
    await Deno.link(join(src, "sub/large.bin"), join(src, "large.hard"));
    const sparse = await Deno.open(join(src, "sparse.img"), { write: true, create: true });
    await sparse.truncate(8 * 1024 * 1024);
    await sparse.seek(3 * 1024 * 1024, Deno.SeekMode.Start);
    await sparse.write(pseudoRandom(70_000, 3));
    sparse.close();
    const mk = await new Deno.Command("mkfifo", { args: [join(src, "pipe")] }).output();
    assert(mk.success, "mkfifo");
    const store = await FrameStore.open(join(dir, "store"));
    const tree = await treeDigest(src);

    const full = await framedCapture(store, src, dir, "s1");
    assertEquals(full.stats.contentDigest, { "0": tree });
    const stream = await streamBytes(store, full.path);
    const fromArchive = await archiveDigests(ReadableStream.from([stream]), DEFAULT_LIMITS);
    assertEquals(fromArchive, { "0": tree });

    // Change a small file: the incremental capture reads it, references large.bin.
    await Deno.writeTextFile(join(src, "a.txt"), "changed\n");
    const tree2 = await treeDigest(src);
    assert(tree2 !== tree);
    const inc = await framedCapture(store, src, dir, "s2", full.parent);
    assert(inc.stats.frames.reusedRawBytes >= 3 * 1024 * 1024, "large.bin was referenced");
    assertEquals(inc.stats.contentDigest, { "0": tree2 });
    const stream2 = await streamBytes(store, inc.path);
    assertEquals(
      await archiveDigests(ReadableStream.from([stream2]), DEFAULT_LIMITS),
      { "0": tree2 },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("treeDigest() follows the rule of the recorded digest: c2 hashes files over 1 MiB in chunks, older digests not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "volsnap-digest-rule-" });
  try {
    await Deno.writeTextFile(join(dir, "small"), "x".repeat(5000));
    const c2 = await treeDigest(dir);
    assert(c2.startsWith("c2:"), c2);
    // No file over 1 MiB: both rules hash the same lines.
    assertEquals(await treeDigest(dir, "0123abcd"), c2.slice(3));
    await Deno.writeFile(join(dir, "large"), pseudoRandom(2 * 1024 * 1024 + 5, 4));
    const chunked = await treeDigest(dir);
    const plain = await treeDigest(dir, "0123abcd");
    assert(chunked.slice(3) !== plain, "the rules differ for a large file");
    // The chunked rule by hand: sha256("volsnap-chunks\n" + each 1 MiB piece's raw sha256).
    const data = await Deno.readFile(join(dir, "large"));
    const { createHash } = await import("node:crypto");
    const outer = createHash("sha256").update("volsnap-chunks\n");
    for (let off = 0; off < data.length; off += 1 << 20) {
      outer.update(createHash("sha256").update(data.subarray(off, off + (1 << 20))).digest());
    }
    const h = new FileHasher(data.length);
    for (let off = 0; off < data.length; off += 300_001) {
      h.update(data.subarray(off, off + 300_001));
    }
    assertEquals(h.digest(), outer.digest("hex"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
