/**
 * A file larger than 8 GiB (the ustar size limit) keeps its exact size. The
 * file is all hole, so it is stored as GNU sparse 1.0 (realsize in PAX) and
 * nothing close to 8 GiB is written or stored; GNU tar lists and extracts
 * it sparse. (A > 8 GiB data size record: write_header_test.)
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
    assert(stats.uncompressedBytes < 64 * 1024, `uncompressed ${stats.uncompressedBytes}`);
    const listing = await run("tar", ["-tvf", finalPath]);
    const line = listing.split("\n").find((l) => l.endsWith("volumes/0/huge.img"));
    assert(line, listing);
    assert(line.includes(` ${SIZE} `), line);
    // The next header sits exactly where the declared size says.
    assert(/ 20 \S+ \S+ volumes\/0\/z_after\.txt$/m.test(listing), listing);
    Deno.mkdirSync(`${base}/out`);
    await run("tar", ["-xf", finalPath, "-C", `${base}/out`]);
    const st = Deno.statSync(`${base}/out/volumes/0/huge.img`);
    assertEquals(st.size, SIZE);
    assert(st.blocks! < 64, `${st.blocks} blocks: extracted sparse`);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
