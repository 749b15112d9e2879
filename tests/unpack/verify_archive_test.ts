import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { AppError } from "../../src/core/errors.ts";
import { verifyArchiveFile } from "../../src/unpack/verify.ts";
import { readManifestFromFile } from "../../src/unpack/manifest_check.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { testManifest, volsnapTar, writeArchiveFile } from "../_helpers/craft_tar.ts";

async function sha256(path: string): Promise<string> {
  const out = await new Deno.Command("sha256sum", { args: [path] }).output();
  return new TextDecoder().decode(out.stdout).split(" ")[0];
}

async function withArchive(fn: (path: string, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "vs_verify_" });
  try {
    const data = new Uint8Array(2 * 1024 * 1024).map((_, i) => i % 251);
    const tar = volsnapTar([
      { name: "volumes/0/a", data: "alpha" },
      { name: "volumes/0/d/", type: "5" },
      { name: "volumes/0/d/big", data },
    ]);
    await fn(await writeArchiveFile(`${dir}/s.tar.zst`, tar), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("verifyArchiveFile accepts an intact archive and reports its stats", () =>
  withArchive(async (path, dir) => {
    const expected = await sha256(path);
    let progress = 0;
    const { manifest, stats } = await verifyArchiveFile(
      path,
      expected.toUpperCase(),
      DEFAULT_LIMITS,
      (n) => {
        progress = n;
      },
    );
    assertEquals(manifest, testManifest([0]));
    assertEquals(stats.sha256, expected);
    assertEquals(stats.sizeBytes, (await Deno.stat(path)).size);
    assertEquals(stats.fileCount, 4); // root, a, d, d/big
    assertEquals(progress, stats.uncompressedBytes);
    assert(stats.uncompressedBytes > 2 * 1024 * 1024);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["s.tar.zst"]);
  }));

Deno.test("verifyArchiveFile reports a sha256 mismatch as integrity_error", () =>
  withArchive(async (path) => {
    const err = await verifyArchiveFile(path, "ab".repeat(32), DEFAULT_LIMITS).catch((e) => e);
    assert(err instanceof AppError, String(err));
    assertEquals(err.code, "integrity_error");
    assertMatch(err.message, /expected abab/);
  }));

Deno.test("verifyArchiveFile reports a damaged file as bad_archive even with the old hash", () =>
  withArchive(async (path) => {
    const expected = await sha256(path);
    const bytes = await Deno.readFile(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await Deno.writeFile(path, bytes);
    const err = await verifyArchiveFile(path, expected, DEFAULT_LIMITS).catch((e) => e);
    assert(err instanceof AppError, String(err));
    // zstd's frame checksum catches it (Deno's in-process zstd would crash the process here).
    assertEquals(err.code, "bad_archive", err.message);
    assertMatch(err.message, /corrupt zstd data/);
  }));

Deno.test("readManifestFromFile reads only the manifest and refuses non-volsnap tars", () =>
  withArchive(async (path, dir) => {
    assertEquals(await readManifestFromFile(path), testManifest([0]));
    // a truncated body after the manifest does not matter for this read
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(`${dir}/cut.tar.zst`, bytes.subarray(0, 200));
    const plain = `${dir}/plain.tar`;
    const out = await new Deno.Command("tar", { args: ["-C", dir, "-cf", plain, "s.tar.zst"] })
      .output();
    assert(out.success);
    const err = await readManifestFromFile(plain).catch((e) => e);
    assert(err instanceof AppError, String(err));
    assertEquals(err.code, "bad_archive");
    assertMatch(err.message, /first entry is 's.tar.zst'.*not a volsnap archive/);
  }));
