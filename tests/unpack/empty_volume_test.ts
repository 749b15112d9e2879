/**
 * A manifest volume with no entries at all (not even its root dir) would
 * restore as an empty dir and wipe that volume: verify, import and extract
 * refuse it (issue 9 item 12).
 */
import { assert, assertMatch } from "../_helpers/assert.ts";
import { AppError } from "../../src/core/errors.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { scanArchive } from "../../src/unpack/verify.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import {
  craftTar,
  manifestEntry,
  sandbox,
  testManifest,
  writeArchiveFile,
} from "../_helpers/craft_tar.ts";

Deno.test("scanArchive() and extractArchive() refuse a manifest volume without any entry", async () => {
  const sb = await sandbox();
  try {
    const tar = craftTar([
      manifestEntry(testManifest([0, 1])),
      { name: "volumes/0/", type: "5" },
      { name: "volumes/0/a.txt", data: "a" },
      // nothing at all for volume 1
    ]);
    const path = await writeArchiveFile(`${sb.base}/a.tar.zst`, tar, "zstd");
    const scanned = await scanArchive({ path }, DEFAULT_LIMITS).then(() => null, (e) => e);
    assert(scanned instanceof AppError, `scan accepted it: ${scanned}`);
    assertMatch(scanned.message, /volume 1 .*no entries/);
    const extracted = await extractArchive({
      sourcePath: path,
      targetDirFor: (i) => `${sb.stageParent}/v${i}`,
      limits: DEFAULT_LIMITS,
    }).then(() => null, (e) => e);
    assert(extracted instanceof AppError, `extract accepted it: ${extracted}`);
    assertMatch(extracted.message, /no entries/);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("scanArchive() accepts a volume that holds only its root dir (an empty volume)", async () => {
  const sb = await sandbox();
  try {
    const tar = craftTar([manifestEntry(testManifest([0])), { name: "volumes/0/", type: "5" }]);
    const path = await writeArchiveFile(`${sb.base}/b.tar.zst`, tar, "zstd");
    const r = await scanArchive({ path }, DEFAULT_LIMITS);
    assert(r.manifest.volumes.length === 1);
  } finally {
    await sb.cleanup();
  }
});
