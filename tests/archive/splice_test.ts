/**
 * Large files go from the page cache into zstd's input pipe by splice(2),
 * between batches written the ordinary way. The stream must arrive byte-exact
 * and in order, also when a file is larger than the pipe (zstd must drain it
 * while we wait) and when it ends early.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { createFrameCompressor } from "../../src/archive/compress.ts";
import { writeSnapshotArchive } from "../../src/archive/writer.ts";
import { draft, run } from "./writer_helpers.ts";

const MiB = 1024 * 1024;
const HEAD = 3 * MiB;

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

Deno.test("spliceFile puts file bytes between pushed batches, in order, through a full pipe", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vs_splice_" });
  try {
    const big = randomBytes(9 * MiB + 7); // > the 1 MiB pipe: the full-pipe wait is taken
    Deno.writeFileSync(`${dir}/big`, big);
    const out = `${dir}/out.zst`;
    Deno.writeFileSync(out, new Uint8Array(0));
    const c = createFrameCompressor({
      compression: "zstd",
      zstdEngine: "cli",
      batchSize: 4 * MiB,
      outputFile: out,
      output: () => Promise.resolve(),
    });
    try {
      assert(c.spliceFile, "the zstd CLI compressor offers splice here");
      const head = c.acquire();
      // More than the pipe holds: still being written when the splice starts.
      head.fill(0x41, 0, HEAD);
      await c.push(head.subarray(0, HEAD));
      const f = await Deno.open(`${dir}/big`);
      // Deno.FsFile hides its fd; the test reads it from /proc like any process could.
      const fd = [...Deno.readDirSync("/proc/self/fd")].map((e) => Number(e.name))
        .find((n) => {
          try {
            return Deno.readLinkSync(`/proc/self/fd/${n}`) === `${dir}/big`;
          } catch {
            return false;
          }
        })!;
      assertEquals(await c.spliceFile(fd, big.length), big.length);
      // Asked for more than the file holds: stops at its end.
      assertEquals(await c.spliceFile(fd, 10), 0);
      f.close();
      const tail = c.acquire();
      tail.fill(0x5a, 0, 500);
      await c.push(tail.subarray(0, 500));
      await c.finish();
    } finally {
      await c.close();
    }
    const p = await new Deno.Command("zstd", { args: ["-dc", out], stdout: "piped" }).output();
    assert(p.success);
    const got = p.stdout;
    assertEquals(got.length, HEAD + big.length + 500);
    assert(got.subarray(0, HEAD).every((b) => b === 0x41), "batch before the file");
    assert(got.subarray(HEAD, HEAD + big.length).every((b, i) => b === big[i]), "file bytes");
    assert(got.subarray(HEAD + big.length).every((b) => b === 0x5a), "batch after the file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("large and small files interleaved round-trip byte-exact through GNU tar", async () => {
  const base = await Deno.makeTempDir({ prefix: "vs_splice_rt_" });
  try {
    const vol = `${base}/vol`;
    Deno.mkdirSync(vol);
    const sizes = [MiB + 1, 3, 5 * MiB + 511, 0, 17 * MiB + 123, 4095, 2 * MiB];
    sizes.forEach((n, i) => Deno.writeFileSync(`${vol}/f${i}`, randomBytes(n)));
    const finalPath = `${base}/s.tar.zst`;
    const { stats } = await writeSnapshotArchive({
      finalPath,
      manifest: draft(),
      sources: [{ index: 0, hostPath: vol }],
      compression: "zstd",
      zstdEngine: "cli",
    });
    assertEquals(stats.warnings, []);
    const dest = `${base}/out`;
    Deno.mkdirSync(dest);
    await run("tar", ["-xpf", finalPath, "-C", dest]);
    for (let i = 0; i < sizes.length; i++) {
      const a = Deno.readFileSync(`${vol}/f${i}`);
      const b = Deno.readFileSync(`${dest}/volumes/0/f${i}`);
      assertEquals(b.length, a.length, `f${i} size`);
      assert(a.every((x, j) => x === b[j]), `f${i} content`);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
