/**
 * Round trip through both halves of the format: writeSnapshotArchive packs
 * the edge tree, extractArchive stages it, and the trees must be identical
 * (including dir/link mtimes, owners, hard-link identity and the root).
 */
import fs from "node:fs";
import { assertEquals } from "../_helpers/assert.ts";
import { diffTrees, fingerprint, type TreeEntry } from "../_helpers/tree.ts";
import { writeSnapshotArchive } from "../../src/pack/writer.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { verifyArchiveFile } from "../../src/unpack/verify.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { buildEdgeTree } from "../_helpers/craft_tar.ts";

function print(root: string) {
  const fp = fingerprint(root) as Record<string, TreeEntry & { t?: number }>;
  for (const [rel, e] of Object.entries(fp)) {
    e.t = Math.floor(fs.lstatSync(rel === "." ? root : `${root}/${rel}`).mtimeMs);
    delete e.mtimeMs;
  }
  return fp;
}

for (const compression of ["zstd", "gzip", "none"] as const) {
  Deno.test(`writer → extractArchive round trip (${compression}) restores the tree exactly`, async () => {
    const base = await Deno.makeTempDir({ prefix: "vs_wrt_" });
    try {
      const src = `${base}/src`;
      Deno.mkdirSync(src);
      buildEdgeTree(src);
      const expected = print(src);
      const finalPath = `${base}/snap.tar`;
      const written = await writeSnapshotArchive({
        finalPath,
        compression,
        sources: [{ index: 0, hostPath: src }],
        manifest: {
          format: "volsnap/1",
          snapshotId: "rt1",
          workload: "app",
          createdAt: new Date().toISOString(),
          tool: { name: "volsnap", version: "test" },
          quiesce: "stop",
          volumes: [{ index: 0, key: "volume:v", type: "volume", name: "v", destinations: [] }],
        },
      });
      const staged = `${base}/staged`;
      const res = await extractArchive({
        source: (await Deno.open(finalPath)).readable,
        expectedSha256: written.stats.sha256,
        targetDirFor: () => staged,
        limits: DEFAULT_LIMITS,
      });
      assertEquals(res.stats.sha256, written.stats.sha256);
      assertEquals(res.stats.uncompressedBytes, written.stats.uncompressedBytes);
      assertEquals(res.stats.fileCount, written.stats.fileCount);
      assertEquals(diffTrees(print(staged), expected), []);
      assertEquals([expected["."].uid, expected["."].mode], [999, 0o750]);
      const v = await verifyArchiveFile(finalPath, written.stats.sha256, DEFAULT_LIMITS);
      assertEquals(v.manifest, written.manifest);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  });
}
