/**
 * Hostile archives: each case is a real crafted archive file (zstd via the
 * CLI unless stated), fed to extractArchive and scanArchive. Both must refuse
 * it with the right error, leave no staging dir, and touch nothing outside.
 */
import fs from "node:fs";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";

function assertInstanceOf<T>(
  v: unknown,
  cls: new (...a: never[]) => T,
  msg?: string,
): asserts v is T {
  assert(v instanceof cls, msg ?? `expected ${cls.name}, got ${v}`);
}
import { AppError, BadArchiveError, type ErrorCode } from "../../src/core/errors.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { scanArchive } from "../../src/unpack/verify.ts";
import { type ArchiveLimits, DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import {
  type CraftEntry,
  craftTar,
  manifestEntry,
  paxRecords,
  sandbox,
  testManifest,
  volsnapTar,
  writeArchiveFile,
} from "../_helpers/craft_tar.ts";

interface Case {
  tar: Uint8Array | ((outside: string) => Uint8Array);
  code?: ErrorCode;
  match: RegExp;
  compression?: "none" | "zstd" | "gzip";
  limits?: Partial<ArchiveLimits>;
  /** Post-process the stored file (truncate, corrupt). */
  mangle?: (bytes: Uint8Array) => Uint8Array;
  expectedSha256?: string;
}

async function expectRefused(c: Case) {
  const sb = await sandbox();
  try {
    const tar = typeof c.tar === "function" ? c.tar(sb.outside) : c.tar;
    const path = await writeArchiveFile(`${sb.base}/a.tar`, tar, c.compression ?? "zstd");
    if (c.mangle) await Deno.writeFile(path, c.mangle(await Deno.readFile(path)));
    const limits = { ...DEFAULT_LIMITS, ...c.limits };
    const code = c.code ?? "bad_archive";
    // Both ways in: a raw stream (uploads) and a path the decoding thread opens itself.
    for (const how of ["stream", "path"] as const) {
      const err = await extractArchive({
        ...(how === "path" ? { sourcePath: path } : { source: (await Deno.open(path)).readable }),
        targetDirFor: (i) => `${sb.stageParent}/v${i}`,
        limits,
        expectedSha256: c.expectedSha256,
      }).then(() => null, (e) => e);
      assert(err, `extractArchive (${how}) accepted a hostile archive`);
      assertInstanceOf(err, AppError, `not an AppError (${how}): ${err}`);
      assertEquals(err.code, code, err.message);
      if (code === "bad_archive") assertInstanceOf(err, BadArchiveError);
      assertMatch(err.message, c.match);
      assertEquals([...Deno.readDirSync(sb.stageParent)], [], `staging left behind (${how})`);
    }
    await Deno.remove(path);
    sb.assertUntouched();
    // The scanner (verify/import) applies the same rules.
    const stored = await writeArchiveFile(path, tar, c.compression ?? "zstd");
    if (c.mangle) await Deno.writeFile(stored, c.mangle(await Deno.readFile(stored)));
    if (!c.expectedSha256) {
      const scanErr = await scanArchive((await Deno.open(stored)).readable, limits).then(
        () => null,
        (e) => e,
      );
      assert(scanErr, "scanArchive accepted a hostile archive");
      assertEquals((scanErr as AppError).code, code, String(scanErr));
    }
  } finally {
    await sb.cleanup();
  }
}

const file = (name: string, data = "x", extra: Partial<CraftEntry> = {}): CraftEntry => ({
  name,
  data,
  ...extra,
});

Deno.test("extract refuses an absolute entry path", () =>
  expectRefused({ tar: volsnapTar([file("/tmp/evil")]), match: /absolute path/ }));

Deno.test("extract refuses '..' components in names", async () => {
  await expectRefused({ tar: volsnapTar([file("volumes/0/../x")]), match: /'\.\.' component/ });
  await expectRefused({
    tar: volsnapTar([file("volumes/0/a/../../x")]),
    match: /'\.\.' component/,
  });
});

Deno.test("extract refuses '..' smuggled in a PAX path record", () =>
  expectRefused({
    tar: volsnapTar([
      file("volumes/0/innocent", "x", { pax: { path: "volumes/0/../../outside/canary" } }),
    ]),
    match: /'\.\.' component/,
  }));

Deno.test("extract refuses a relative symlink that climbs out of its volume", () =>
  expectRefused({
    tar: volsnapTar([
      { name: "volumes/0/sl", type: "2", linkname: "../../outside" },
      file("volumes/0/sl/file", "pwned"),
    ]),
    match: /points outside its volume/,
  }));

Deno.test("extract never writes through an (allowed) absolute symlink", () =>
  expectRefused({
    tar: (outside) =>
      volsnapTar([
        { name: "volumes/0/sl", type: "2", linkname: outside },
        file("volumes/0/sl/canary", "pwned"),
      ]),
    match: /below 'sl', which is not a directory/,
  }));

Deno.test("extract refuses a regular file replacing an earlier symlink", () =>
  expectRefused({
    tar: (outside) =>
      volsnapTar([
        { name: "volumes/0/victim", type: "2", linkname: `${outside}/canary` },
        file("volumes/0/victim", "pwned"),
      ]),
    match: /duplicate entry/,
  }));

Deno.test("extract refuses hard links to outside, absolute, missing or non-file targets", async () => {
  await expectRefused({
    tar: volsnapTar([{ name: "volumes/0/h", type: "1", linkname: "../outside/canary" }]),
    match: /hard link .*'\.\.' component/,
  });
  await expectRefused({
    tar: (outside) =>
      volsnapTar([{ name: "volumes/0/h", type: "1", linkname: `${outside}/canary` }]),
    match: /hard link .*absolute path/,
  });
  await expectRefused({
    tar: volsnapTar([{ name: "volumes/0/h", type: "1", linkname: "volumes/0/not-in-archive" }]),
    match: /does not point to an earlier regular file/,
  });
  await expectRefused({
    tar: volsnapTar([
      { name: "volumes/0/s", type: "2", linkname: "/etc/passwd" },
      { name: "volumes/0/h", type: "1", linkname: "volumes/0/s" },
    ]),
    match: /does not point to an earlier regular file/,
  });
  await expectRefused({
    tar: volsnapTar([file("volumes/1/f"), {
      name: "volumes/0/h",
      type: "1",
      linkname: "volumes/1/f",
    }], {
      indexes: [0, 1],
    }),
    match: /does not point to an earlier regular file of volume 0/,
  });
});

Deno.test("extract refuses symlink chains that resolve outside the volume", async () => {
  await expectRefused({
    tar: volsnapTar([
      { name: "volumes/0/a", type: "2", linkname: "." },
      { name: "volumes/0/b", type: "2", linkname: "a/../.." },
    ]),
    match: /points outside its volume/,
  });
  await expectRefused({
    tar: volsnapTar([
      { name: "volumes/0/d/", type: "5" },
      { name: "volumes/0/d/up", type: "2", linkname: ".." },
      { name: "volumes/0/x", type: "2", linkname: "d/up/.." },
    ]),
    match: /'volumes\/0\/x' resolves outside its volume through other links/,
  });
});

Deno.test("extract refuses device nodes and GNU sparse 0.x", async () => {
  await expectRefused({
    tar: volsnapTar([{ name: "volumes/0/null", type: "3" }]),
    match: /character device/,
  });
  await expectRefused({
    tar: volsnapTar([{ name: "volumes/0/sda", type: "4" }]),
    match: /block device/,
  });
  await expectRefused({
    tar: volsnapTar([file("volumes/0/pipe", "", { pax: { "GNU.sparse.map": "0,1" } })]),
    match: /GNU sparse PAX 1.0/,
  });
  // Old GNU sparse (typeflag S) is read: gnu_old_sparse_test.ts, lying maps included.
});

Deno.test("extract refuses duplicate entries", async () => {
  await expectRefused({
    tar: volsnapTar([file("volumes/0/f"), file("volumes/0/f")]),
    match: /duplicate entry/,
  });
  await expectRefused({
    tar: volsnapTar([{ name: "volumes/0/d/", type: "5" }, { name: "volumes/0/d", type: "5" }]),
    match: /duplicate entry/,
  });
  await expectRefused({
    tar: volsnapTar([{ name: "volumes/0/", type: "5" }]),
    match: /duplicate entry 'volumes\/0\/'/,
  });
  await expectRefused({
    tar: volsnapTar([manifestEntry()]),
    match: /duplicate entry 'volsnap.json'/,
  });
});

Deno.test("extract refuses a volume index that the manifest does not list", async () => {
  await expectRefused({
    tar: volsnapTar([file("volumes/1/f")]),
    match: /volume 1, which the manifest does not list/,
  });
  await expectRefused({
    tar: volsnapTar([file("volumes/01/f")]),
    match: /not under volumes\/<index>/,
  });
  await expectRefused({
    tar: volsnapTar([file("etc/passwd")]),
    match: /not under volumes\/<index>/,
  });
});

Deno.test("extract refuses a manifest that lies or is missing", async () => {
  // volumes missing from the manifest, but present in the archive
  await expectRefused({
    tar: craftTar([manifestEntry(testManifest([])), { name: "volumes/0/", type: "5" }]),
    match: /manifest does not list/,
  });
  await expectRefused({
    tar: craftTar([manifestEntry({ ...testManifest(), format: "volsnap/2" })]),
    match: /not a valid volsnap\/1 manifest: format/,
  });
  await expectRefused({
    tar: craftTar([manifestEntry(testManifest([0, 0]))]),
    match: /lists volume index 0 twice/,
  });
  await expectRefused({ tar: craftTar([manifestEntry("{not json")]), match: /not valid JSON/ });
  await expectRefused({
    tar: craftTar([{ name: "volumes/0/", type: "5" }, manifestEntry()]),
    match: /first entry is 'volumes\/0\/'.*not a volsnap archive/,
  });
  await expectRefused({ tar: craftTar([]), match: /empty \(no manifest\)/ });
  await expectRefused({
    tar: craftTar([{ name: "volsnap.json", data: "x".repeat(2 * 1024 * 1024) }]),
    match: /manifest is \d+ bytes/,
  });
});

Deno.test("extract refuses a truncated stream", async () => {
  const big = new Uint8Array(300_000).map((_, i) => (i * 7919) & 0xff);
  // Uncompressed, cut in the middle of a body.
  await expectRefused({
    tar: volsnapTar([file("volumes/0/f", "hello"), { name: "volumes/0/big", data: big }]),
    compression: "none",
    mangle: (b) => b.subarray(0, 200_000),
    match: /truncated \(stream ended inside the data of/,
  });
  // Complete entries but no end-of-archive marker.
  await expectRefused({
    tar: volsnapTar([file("volumes/0/f")], { eof: false }),
    match: /truncated \(no end-of-archive marker\)/,
  });
  // Cut zstd stream.
  await expectRefused({
    tar: volsnapTar([{ name: "volumes/0/big", data: big }]),
    mangle: (b) => b.subarray(0, Math.floor(b.length / 2)),
    match: /truncated/,
  });
  // Cut gzip stream: zlib reports it.
  await expectRefused({
    tar: volsnapTar([{ name: "volumes/0/big", data: big }]),
    compression: "gzip",
    mangle: (b) => b.subarray(0, Math.floor(b.length / 2)),
    match: /truncated|corrupt gzip/,
  });
});

Deno.test("extract refuses corrupt zstd data", () =>
  expectRefused({
    tar: volsnapTar([{ name: "volumes/0/f", data: "hello ".repeat(50_000) }]),
    mangle: (b) => {
      const c = b.slice();
      for (let i = 20; i < 60 && i < c.length; i++) c[i] ^= 0x5a;
      return c;
    },
    match: /corrupt zstd data/,
  }));

Deno.test("extract refuses file data that only zstd's frame checksum can tell is damaged", () =>
  // Random data is stored in raw zstd blocks: one flipped byte in the middle
  // still decodes, and the tar layer cannot see it. Restores read a stored
  // file without hashing it again (the pre-flight did), so this is the guard.
  expectRefused({
    tar: volsnapTar([{
      name: "volumes/0/random",
      data: new Uint8Array(400_000).map((_, i) => (i * 2654435761) >>> 24),
    }]),
    mangle: (b) => {
      const c = b.slice();
      c[Math.floor(c.length / 2)] ^= 0x01;
      return c;
    },
    match: /corrupt zstd data.*checksum/i,
  }));

Deno.test("extract refuses a bad tar header checksum, trailing garbage and a lone zero block", async () => {
  const tar = volsnapTar([file("volumes/0/f", "data")]);
  const badSum = tar.slice();
  badSum[1024 + 10] ^= 1; // inside the volumes/0/ header
  await expectRefused({ tar: badSum, match: /checksum mismatch/ });
  const garbage = new Uint8Array(tar.length + 512);
  garbage.set(tar);
  garbage.fill(0x41, tar.length);
  await expectRefused({ tar: garbage, match: /trailing data/ });
  const lone = craftTar([manifestEntry(), { name: "volumes/0/", type: "5" }], { eof: false });
  const withLone = new Uint8Array(lone.length + 512 + 512 + 1024);
  withLone.set(lone);
  withLone.set(craftTar([file("volumes/0/late")], { eof: false }), lone.length + 512);
  await expectRefused({ tar: withLone, match: /lone zero block/ });
});

Deno.test("extract fails with integrity_error on a sha256 mismatch", () =>
  expectRefused({
    tar: volsnapTar([file("volumes/0/f", "data")]),
    expectedSha256: "0".repeat(64),
    code: "integrity_error",
    match: /sha256 is [0-9a-f]{64}, expected 0{64}/,
  }));

Deno.test("extract stops a decompression bomb with too_large", async () => {
  const sb = await sandbox();
  try {
    // 200 MiB of zeros as one file, compressed by the zstd CLI to a few KiB.
    const size = 200 * 1024 * 1024;
    const head = craftTar([manifestEntry(), { name: "volumes/0/", type: "5" }], { eof: false });
    const hdr = craftTar([{ name: "volumes/0/zeros", size }], { eof: false });
    const path = `${sb.base}/bomb.tar.zst`;
    const p = new Deno.Command("sh", {
      args: ["-c", `(cat; head -c ${size + 1024} /dev/zero) | zstd -q -1 -c > ${path}`],
      stdin: "piped",
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new Uint8Array([...head, ...hdr]));
    await w.close();
    assert((await p.status).success);
    assert((await Deno.stat(path)).size < 100_000, "bomb should be tiny");
    for (const how of ["stream", "path"] as const) {
      let seen = 0;
      const err = await extractArchive({
        ...(how === "path" ? { sourcePath: path } : { source: (await Deno.open(path)).readable }),
        targetDirFor: () => sb.staging,
        limits: { ...DEFAULT_LIMITS, maxExpandedBytes: 16 * 1024 * 1024 },
        onProgress: (n) => seen = n,
      }).then(() => null, (e) => e);
      assertInstanceOf(err, AppError);
      assertEquals(err.code, "too_large");
      assertMatch(err.message, /expands beyond the limit of 16777216 bytes/);
      assert(seen <= 16 * 1024 * 1024, `progress (${how}) went to ${seen}`);
    }
    await Deno.remove(path);
    sb.assertUntouched();
  } finally {
    await sb.cleanup();
  }
});

Deno.test("extract refuses an oversized PAX header", () =>
  expectRefused({
    tar: volsnapTar([file("volumes/0/f", "x", { pax: { comment: "A".repeat(2 * 1024 * 1024) } })]),
    match: /extended header of \d+ bytes .* exceeds the limit of 1048576/,
  }));

Deno.test("extract refuses malformed PAX records", async () => {
  const tar = volsnapTar([file("volumes/0/f", "x", { pax: { mtime: "1.5" } })]);
  // Break the record length digits of the PAX body (third 512-block pair: manifest, root, x header).
  const s = new TextDecoder().decode(tar);
  const at = s.indexOf("mtime=1.5") - 3;
  const bad = tar.slice();
  bad[at] = "9".charCodeAt(0);
  await expectRefused({ tar: bad, match: /malformed PAX record|checksum/ });
  await expectRefused({
    tar: volsnapTar([file("volumes/0/f", "x", { pax: { size: "-1" } })]),
    match: /PAX size is not a valid number/,
  });
  await expectRefused({
    tar: volsnapTar([file("volumes/0/f", "x", { pax: { "GNU.sparse.major": "1" } })]),
    match: /sparse/,
  });
});

Deno.test("extract refuses invalid UTF-8 or a missing '=' even in PAX records it does not restore", async () => {
  const tar = volsnapTar([file("volumes/0/f", "x", { pax: { uname: "ab\u00e9cd" } })]);
  // "é" is c3 a9 in UTF-8; a lone c3 followed by 'c' is invalid.
  const at = new TextDecoder().decode(tar).indexOf("uname=ab") + "uname=ab".length;
  assertEquals([tar[at], tar[at + 1]], [0xc3, 0xa9]);
  const badUtf8 = tar.slice();
  badUtf8[at + 1] = 0x63;
  await expectRefused({ tar: badUtf8, match: /PAX record is not valid UTF-8/ });
  const noEq = tar.slice();
  noEq[at - "=ab".length] = 0x5f; // "uname_ab…": no '=' left in the record
  await expectRefused({ tar: noEq, match: /malformed PAX record \(no key\)/ });
});

Deno.test("extract refuses a NUL byte in a path", () =>
  expectRefused({
    tar: volsnapTar([file("volumes/0/ok", "x", { pax: { path: "volumes/0/a\0/../../x" } })]),
    match: /NUL byte/,
  }));

Deno.test("extract refuses a very deep path", () =>
  expectRefused({
    tar: volsnapTar([file(`volumes/0/${"d/".repeat(300)}f`)]),
    match: /deeper than 256 levels/,
  }));

Deno.test("extract refuses a very long path", () =>
  expectRefused({
    tar: volsnapTar([file(`volumes/0/${"n".repeat(5000)}`)]),
    match: /longer than 4096 bytes/,
  }));

Deno.test("extract enforces the entry-count cap with too_large", () =>
  expectRefused({
    tar: volsnapTar(Array.from({ length: 20 }, (_, i) => file(`volumes/0/f${i}`))),
    limits: { maxEntries: 10 },
    code: "too_large",
    match: /more than 10 entries/,
  }));

Deno.test("extract refuses a staging dir that already exists and leaves it alone", async () => {
  const sb = await sandbox();
  try {
    await Deno.mkdir(sb.staging);
    await Deno.writeTextFile(`${sb.staging}/keep`, "mine");
    const path = await writeArchiveFile(`${sb.base}/a.tar.zst`, volsnapTar([file("volumes/0/f")]));
    const err = await extractArchive({
      source: (await Deno.open(path)).readable,
      targetDirFor: () => sb.staging,
      limits: DEFAULT_LIMITS,
    }).then(() => null, (e) => e);
    assertInstanceOf(err, Deno.errors.AlreadyExists);
    assertEquals(await Deno.readTextFile(`${sb.staging}/keep`), "mine");
  } finally {
    await sb.cleanup();
  }
});

/** zstd processes whose parent is this test process (alive or not yet reaped). */
function zstdChildren(): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const [, comm, rest] = stat.match(/^\d+ \((.*)\) (.*)$/s)!;
      const [state, ppid] = rest.split(" ");
      if (comm === "zstd" && Number(ppid) === Deno.pid) found.push(`${e.name} ${state}`);
    } catch { /* gone meanwhile */ }
  }
  return found;
}

Deno.test("a refusal mid-stream kills and reaps the zstd child before it is reported", async () => {
  // 64 MiB still to decode after the device: zstd is blocked on its output pipe when we refuse.
  const tar = volsnapTar([
    file("volumes/0/first", "x"),
    { name: "volumes/0/null", type: "3" },
    { name: "volumes/0/rest", data: new Uint8Array(64 << 20) },
  ]);
  const sb = await sandbox();
  try {
    const path = await writeArchiveFile(`${sb.base}/a.tar`, tar, "zstd");
    assertEquals(zstdChildren(), []);
    for (const how of ["stream", "path"] as const) {
      const err = await extractArchive({
        ...(how === "path" ? { sourcePath: path } : { source: (await Deno.open(path)).readable }),
        targetDirFor: (i) => `${sb.stageParent}/v${i}`,
        limits: DEFAULT_LIMITS,
      }).then(() => null, (e) => e);
      assertMatch(String(err), /character device/);
      assertEquals(zstdChildren(), [], `zstd left behind (${how})`);
    }
    const scanErr = await scanArchive({ path }, DEFAULT_LIMITS).then(() => null, (e) => e);
    assertMatch(String(scanErr), /character device/);
    assertEquals(zstdChildren(), [], "zstd left behind (scan)");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("an abort before, at or after the manifest ends the walk promptly (no hang, no worker left)", async () => {
  const big = new Uint8Array(24 << 20);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  const sb = await sandbox();
  try {
    const path = await writeArchiveFile(
      `${sb.base}/a.tar`,
      volsnapTar([{ name: "volumes/0/big", data: big }]),
      "zstd",
    );
    for (const delay of [0, 1, 2, 3, 5, 8, 12, 20]) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), delay);
      const t0 = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        extractArchive({
          sourcePath: path,
          targetDirFor: (i) => `${sb.stageParent}/v${delay}_${i}`,
          limits: DEFAULT_LIMITS,
          signal: ac.signal,
        }).then(() => "finished", (e) => `rejected ${(e as Error).name}`),
        new Promise<string>((r) => timer = setTimeout(() => r("hang"), 10_000)),
      ]);
      clearTimeout(timer);
      assert(outcome !== "hang", `abort after ${delay} ms hung`);
      if (outcome !== "finished") {
        assertEquals(outcome, "rejected AbortError", `delay ${delay}`);
        assert(!fs.existsSync(`${sb.stageParent}/v${delay}_0`), `staging left (delay ${delay})`);
      }
      assert(performance.now() - t0 < 5000, `abort after ${delay} ms took too long`);
      assertEquals(zstdChildren(), [], `zstd left behind (delay ${delay})`);
    }
  } finally {
    await sb.cleanup();
  }
});

/** A GNU sparse 1.0 entry whose map text and data are given as is. */
function sparseEntry(map: string, data: string, pax: Record<string, string> = {}): CraftEntry {
  const block = new Uint8Array(512);
  block.set(new TextEncoder().encode(map));
  const body = new Uint8Array(512 + data.length);
  body.set(block);
  body.set(new TextEncoder().encode(data), 512);
  return {
    name: "volumes/0/GNUSparseFile.0/s",
    data: body,
    pax: {
      "GNU.sparse.major": "1",
      "GNU.sparse.minor": "0",
      "GNU.sparse.name": "volumes/0/s",
      "GNU.sparse.realsize": "100",
      ...pax,
    },
  };
}

Deno.test("extract refuses sparse maps that lie: overlap, beyond the size, data mismatch, huge size", async () => {
  await expectRefused({
    tar: volsnapTar([sparseEntry("2\n0\n4\n2\n4\n", "abcdefgh")]),
    match: /overlapping or out-of-range/,
  });
  await expectRefused({
    tar: volsnapTar([sparseEntry("1\n98\n4\n", "abcd")]),
    match: /overlapping or out-of-range/,
  });
  await expectRefused({
    tar: volsnapTar([sparseEntry("1\n0\n4\n", "abcdefgh")]),
    match: /maps 4 data bytes but carries 8/,
  });
  await expectRefused({
    tar: volsnapTar([sparseEntry("1\n0\nx\n", "abcd")]),
    match: /malformed sparse map/,
  });
  await expectRefused({
    tar: volsnapTar([sparseEntry("1\n0\n4\n", "abcd", { "GNU.sparse.realsize": "99999999999" })]),
    limits: { maxExpandedBytes: 1 << 30 },
    code: "too_large",
    match: /sparse file .* exceeds the limit/,
  });
  await expectRefused({
    tar: volsnapTar([sparseEntry("1\n0\n4\n", "abcd", { "GNU.sparse.minor": "1" })]),
    match: /only 1\.0 is supported/,
  });
});

Deno.test("extract refuses oversized, empty-named, duplicate or global xattrs", async () => {
  await expectRefused({
    tar: volsnapTar([
      file("volumes/0/f", "x", { pax: { "SCHILY.xattr.user.big": "v".repeat(64 * 1024 + 1) } }),
    ]),
    match: /more than 64 KiB/,
  });
  await expectRefused({
    tar: volsnapTar([file("volumes/0/f", "x", { pax: { "SCHILY.xattr.": "v" } })]),
    match: /xattr name '' is not valid/,
  });
  const one = paxRecords({ "SCHILY.xattr.user.a": "1" });
  const dup = new Uint8Array([...one, ...one]);
  await expectRefused({
    tar: volsnapTar([
      { name: "PaxHeader", type: "x", data: dup },
      { name: "volumes/0/f", data: "x" },
    ]),
    match: /set twice/,
  });
  await expectRefused({
    tar: volsnapTar([
      { name: "GlobalHead", type: "g", data: one },
      { name: "volumes/0/f", data: "x" },
    ]),
    match: /global PAX header sets/,
  });
});
