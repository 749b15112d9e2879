import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { archiveDigests, treeDigest } from "../../src/drill/digest.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { captureDir } from "../pack/writer_helpers.ts";

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
