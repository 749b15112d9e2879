/**
 * What the writer produces, volsnap's own reader accepts: verifyArchiveFile
 * finds the same sha256, size, tar byte count, entry count and manifest, for
 * every compression and zstd engine.
 */
import { assertEquals } from "../_helpers/assert.ts";
import { writeSnapshotArchive } from "../../src/pack/writer.ts";
import { archiveExtension } from "../../src/core/model.ts";
import { verifyArchiveFile } from "../../src/unpack/verify.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import type { Compression } from "../../src/core/model.ts";
import { draft } from "./writer_helpers.ts";

const cases: { compression: Compression; engine?: "cli" | "node" }[] = [
  { compression: "zstd", engine: "cli" },
  { compression: "zstd", engine: "node" },
  { compression: "gzip" },
  { compression: "none" },
];

for (const c of cases) {
  const name = `${c.compression}${c.engine ? "/" + c.engine : ""}`;
  Deno.test(`verifyArchiveFile accepts what writeSnapshotArchive (${name}) wrote, with equal stats`, async () => {
    const base = await Deno.makeTempDir({ prefix: "vs_wagree_" });
    try {
      for (const v of [0, 1]) {
        const dir = `${base}/v${v}/sub/deeper`;
        Deno.mkdirSync(dir, { recursive: true });
        const data = new Uint8Array(9 * 1024 * 1024 + 17); // spans several batches
        for (let i = 0; i < data.length; i += 65536) {
          crypto.getRandomValues(data.subarray(i, Math.min(data.length, i + 65536)));
        }
        Deno.writeFileSync(`${dir}/big.bin`, data);
        for (let i = 0; i < 200; i++) {
          Deno.writeTextFileSync(`${dir}/small${i}.txt`, `line ${i}\n`.repeat(i));
        }
        Deno.symlinkSync("sub/deeper/big.bin", `${base}/v${v}/link`);
      }
      const finalPath = `${base}/s${archiveExtension(c.compression)}`;
      const written = await writeSnapshotArchive({
        finalPath,
        manifest: draft(2),
        sources: [{ index: 0, hostPath: `${base}/v0` }, { index: 1, hostPath: `${base}/v1` }],
        compression: c.compression,
        zstdEngine: c.engine,
      });
      const read = await verifyArchiveFile(finalPath, written.stats.sha256, DEFAULT_LIMITS);
      assertEquals(read.manifest, written.manifest);
      assertEquals(read.stats.sha256, written.stats.sha256);
      assertEquals(read.stats.sizeBytes, written.stats.sizeBytes);
      assertEquals(read.stats.uncompressedBytes, written.stats.uncompressedBytes);
      assertEquals(read.stats.fileCount, written.stats.fileCount);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  });
}
