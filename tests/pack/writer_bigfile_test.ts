/**
 * A file larger than 8 GiB (the ustar size limit) keeps its exact size via a
 * PAX size record. The file is sparse and the archive zstd-compressed, so
 * nothing close to 8 GiB is stored.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { captureDir, run } from "./writer_helpers.ts";

const SIZE = 8 * 1024 ** 3 + 12345; // > 8 GiB, not block-aligned

Deno.test("writeSnapshotArchive stores a > 8 GiB file with its exact size (GNU tar lists it)", async () => {
  const base = await Deno.makeTempDir({ prefix: "vs_wbig_" });
  try {
    const vol = `${base}/vol`;
    Deno.mkdirSync(vol);
    await run("truncate", ["-s", String(SIZE), `${vol}/huge.img`]);
    Deno.writeTextFileSync(`${vol}/z_after.txt`, "after the huge file\n");
    const finalPath = `${base}/s.tar.zst`;
    const { stats } = await captureDir(vol, finalPath);
    assertEquals(stats.warnings, []);
    assert(stats.uncompressedBytes > SIZE, `uncompressed ${stats.uncompressedBytes}`);
    assert(stats.sizeBytes < 64 * 1024 * 1024, `stored ${stats.sizeBytes} bytes`);
    const listing = await run("tar", ["-tvf", finalPath]);
    const line = listing.split("\n").find((l) => l.endsWith("volumes/0/huge.img"));
    assert(line, listing);
    assert(line.includes(` ${SIZE} `), line);
    // The next header sits exactly where the declared size says.
    assert(/ 20 \S+ \S+ volumes\/0\/z_after\.txt$/m.test(listing), listing);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
