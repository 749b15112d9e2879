/**
 * One limits table for writer and reader: a capture that the reader would
 * refuse fails while writing, names the limit, and leaves no archive; one
 * just inside every limit is stored and verified.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";
import { captureDir, tempFiles } from "../pack/writer_helpers.ts";
import { verifyArchiveFile } from "../../src/unpack/verify.ts";
import { DEFAULT_LIMITS, LimitExceededError } from "../../src/tar/limits.ts";

/** `levels` nested dirs "d/d/d/…" with a file at the bottom. */
function nest(root: string, levels: number): void {
  let p = root;
  for (let i = 0; i < levels; i++) {
    p += "/d";
    Deno.mkdirSync(p);
  }
  Deno.writeTextFileSync(`${p}/leaf`, "bottom\n");
}

async function withDir(fn: (base: string) => Promise<void>) {
  const base = await Deno.makeTempDir({ prefix: "vs_limits_" });
  try {
    Deno.mkdirSync(`${base}/vol`);
    await fn(base);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

Deno.test("a capture of 260 nested dirs fails up front with maxDepth named, storing nothing", () =>
  withDir(async (base) => {
    nest(`${base}/vol`, 260);
    const err = await assertRejects(
      () => captureDir(`${base}/vol`, `${base}/s.tar.zst`),
      (e) => e instanceof LimitExceededError,
    ) as LimitExceededError;
    assertEquals(err.limit, "maxDepth");
    assertEquals(err.code, "too_large");
    assertMatch(err.message, /maxDepth \(256\)/);
    assert(err.hint);
    assert(!(await exists(`${base}/s.tar.zst`)), "no archive stored");
    assertEquals(tempFiles(base), []);
  }));

Deno.test("the deepest capture the limit allows is stored and verify accepts it", () =>
  withDir(async (base) => {
    // volumes/0/ + 253 dirs + leaf = 256 components: exactly at maxDepth.
    nest(`${base}/vol`, DEFAULT_LIMITS.maxDepth - 3);
    const { stats } = await captureDir(`${base}/vol`, `${base}/s.tar.zst`);
    const v = await verifyArchiveFile(`${base}/s.tar.zst`, stats.sha256, DEFAULT_LIMITS);
    assertEquals(v.stats.fileCount, stats.fileCount);
  }));

Deno.test("entry count, path bytes and expanded bytes are checked by the writer with the reader's table", () =>
  withDir(async (base) => {
    for (let i = 0; i < 5; i++) Deno.writeTextFileSync(`${base}/vol/f${i}`, "x".repeat(600));
    const fail = async (limits: Partial<typeof DEFAULT_LIMITS>, name: string) => {
      const err = await assertRejects(
        () =>
          captureDir(`${base}/vol`, `${base}/s.tar.zst`, {
            limits: { ...DEFAULT_LIMITS, ...limits },
          }),
        (e) => e instanceof LimitExceededError,
      ) as LimitExceededError;
      assertEquals(err.limit, name);
      assertEquals(tempFiles(base), []);
    };
    await fail({ maxEntries: 3 }, "maxEntries");
    await fail({ maxPathBytes: 11 }, "maxPathBytes");
    await fail({ maxExpandedBytes: 4096 }, "maxExpandedBytes");
    // Exactly enough: 6 entries (root + 5 files) pass.
    const { stats } = await captureDir(`${base}/vol`, `${base}/s.tar.zst`, {
      limits: { ...DEFAULT_LIMITS, maxEntries: 6 },
    });
    assertEquals(stats.fileCount, 6);
  }));

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}
