import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { AppError } from "../../src/core/errors.ts";
import { importArchive } from "../../src/unpack/import.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { testManifest, volsnapTar, writeArchiveFile } from "../_helpers/craft_tar.ts";

/** An upload body that arrives in small pieces, like an HTTP request body. */
function body(bytes: Uint8Array, piece = 7000): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(ctl) {
      if (off >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.slice(off, off + piece));
      off += piece;
    },
  });
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "vs_import_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

const goodTar = () =>
  volsnapTar([
    { name: "volumes/0/a", data: "alpha" },
    { name: "volumes/0/big", data: new Uint8Array(600_000).map((_, i) => i % 13) },
  ]);

Deno.test("importArchive stores a valid upload byte for byte and reports it", () =>
  withDir(async (dir) => {
    const src = await writeArchiveFile(`${dir}/src.tar.gz`, goodTar(), "gzip");
    const bytes = await Deno.readFile(src);
    let seen = 0;
    const res = await importArchive({
      body: body(bytes),
      finalPath: `${dir}/imported`,
      limits: DEFAULT_LIMITS,
      onProgress: (n) => seen = n,
    });
    assertEquals(res.compression, "gzip");
    assertEquals(res.manifest, testManifest([0]));
    assertEquals(res.stats.sizeBytes, bytes.length);
    assertEquals(seen, bytes.length);
    assertEquals(await Deno.readFile(`${dir}/imported`), bytes);
    assertEquals(names(dir), ["imported", "src.tar.gz"]);
    assertEquals((await Deno.stat(`${dir}/imported`)).mode! & 0o777, 0o600);
  }));

Deno.test("importArchive refuses an upload over maxUploadBytes with too_large and keeps nothing", () =>
  withDir(async (dir) => {
    const bytes = await Deno.readFile(await writeArchiveFile(`${dir}/src.tar`, goodTar(), "none"));
    const err = await importArchive({
      body: body(bytes, 65536),
      finalPath: `${dir}/imported`,
      limits: { ...DEFAULT_LIMITS, maxUploadBytes: 100_000 },
    }).catch((e) => e);
    assert(err instanceof AppError, String(err));
    assertEquals(err.code, "too_large");
    assertEquals(err.status, 413);
    assertEquals(names(dir), ["src.tar"]);
  }));

Deno.test("importArchive refuses an archive expanding over maxExpandedBytes", () =>
  withDir(async (dir) => {
    const bytes = await Deno.readFile(await writeArchiveFile(`${dir}/src.tar.zst`, goodTar()));
    const err = await importArchive({
      body: body(bytes),
      finalPath: `${dir}/imported`,
      limits: { ...DEFAULT_LIMITS, maxExpandedBytes: 300_000 },
    }).catch((e) => e);
    assert(err instanceof AppError, String(err));
    assertEquals(err.code, "too_large");
    assertEquals(names(dir), ["src.tar.zst"]);
  }));

Deno.test("importArchive refuses a hostile archive with bad_archive naming the entry", () =>
  withDir(async (dir) => {
    const tar = volsnapTar([
      { name: "volumes/0/ok", data: "fine" },
      { name: "volumes/0/link", type: "2", linkname: "../../../etc" },
    ]);
    const bytes = await Deno.readFile(await writeArchiveFile(`${dir}/src.tar.zst`, tar));
    const err = await importArchive({
      body: body(bytes),
      finalPath: `${dir}/imported`,
      limits: DEFAULT_LIMITS,
    })
      .catch((e) => e);
    assert(err instanceof AppError, String(err));
    assertEquals(err.code, "bad_archive");
    assertEquals(err.status, 422);
    assertMatch(
      err.message,
      /symlink 'volumes\/0\/link' -> '..\/..\/..\/etc' points outside its volume/,
    );
    assertEquals(names(dir), ["src.tar.zst"]);
  }));

Deno.test("importArchive refuses random bytes and an empty upload", () =>
  withDir(async (dir) => {
    for (const bytes of [crypto.getRandomValues(new Uint8Array(4096)), new Uint8Array(0)]) {
      const err = await importArchive({
        body: body(bytes),
        finalPath: `${dir}/imported`,
        limits: DEFAULT_LIMITS,
      })
        .catch((e) => e);
      assert(err instanceof AppError, String(err));
      assertEquals(err.code, "bad_archive", err.message);
      assertEquals(names(dir), []);
    }
  }));
