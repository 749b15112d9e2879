/**
 * SPEC §3 fidelity, both ways against GNU tar: a capture of a volume with
 * non-UTF-8 names, xattrs, ACLs, a file capability, sparse files,
 * setuid/setgid and a fifo extracts with `tar --xattrs --xattrs-include='*'
 * -xpf` to the same tree (sparse files sparse), and so does our own
 * extractor; an archive GNU tar made (`--xattrs --sparse --format=pax`) from
 * that tree imports and restores to the same tree. Imports lose setuid,
 * setgid and security.capability unless privileges are kept.
 */
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { captureDir, importAndStage, run } from "./writer_helpers.ts";
import {
  blocks,
  buildFidelityTree,
  sh,
  SPARSE_SIZE,
  treePrint,
  xattrBase,
} from "../_helpers/fidelity_tree.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";

assert(Deno.uid() === 0, "these tests set trusted.* xattrs, capabilities and owners: run as root");

async function withTree(fn: (base: string, src: string, expected: string) => Promise<void>) {
  const { base, cleanup } = await xattrBase();
  try {
    const src = `${base}/src`;
    await buildFidelityTree(src);
    const expected = await treePrint(src);
    // The tree really has what the test is about.
    assertMatch(expected, /caf\xe9\|f\|/);
    assertMatch(expected, /user\.binary=0x00ff10ee/);
    assertMatch(expected, /system\.posix_acl_default=/);
    assertMatch(expected, /security\.capability=/);
    assertMatch(expected, /^pipe\|p\|640\|/m);
    assert(await blocks(`${src}/sparse_mid`) < 100);
    await fn(base, src, expected);
  } finally {
    await cleanup();
  }
}

async function assertSparse(root: string) {
  for (const f of ["sparse_mid", "sparse_empty"]) {
    const b = await blocks(`${root}/${f}`);
    assert(b < 100, `${f} restored with ${b} blocks: not sparse`);
    assertEquals(Deno.statSync(`${root}/${f}`).size, SPARSE_SIZE);
  }
}

Deno.test("a capture extracted by GNU tar --xattrs -xpf gives the same tree, sparse files sparse", () =>
  withTree(async (base, src, expected) => {
    const { stats } = await captureDir(src, `${base}/s.tar.zst`);
    assertEquals(stats.skippedSpecial, 1, "the socket");
    assertEquals(stats.warnings, []);
    const out = `${base}/gnu`;
    Deno.mkdirSync(out);
    await run("tar", [
      "--xattrs",
      "--xattrs-include=*",
      "--numeric-owner",
      "-xpf",
      `${base}/s.tar.zst`,
      "-C",
      out,
    ]);
    assertEquals(await treePrint(`${out}/volumes/0`), expected);
    await assertSparse(`${out}/volumes/0`);
    // Stored sparse: the archive is far smaller than the holes.
    assert(stats.uncompressedBytes < 4 * 1024 * 1024, `${stats.uncompressedBytes} tar bytes`);
  }));

Deno.test("our extractor restores a capture to the same tree (privileges kept for own snapshots)", () =>
  withTree(async (base, src, expected) => {
    const { stats } = await captureDir(src, `${base}/s.tar.zst`);
    const staged = `${base}/staged`;
    const res = await extractArchive({
      sourcePath: `${base}/s.tar.zst`,
      expectedSha256: stats.sha256,
      targetDirFor: () => staged,
      limits: DEFAULT_LIMITS,
      keepPrivileges: true,
    });
    assertEquals(res.stats.warnings, []);
    assertEquals(await treePrint(staged), expected);
    await assertSparse(staged);
  }));

Deno.test("an archive from outside loses setuid/setgid and security.capability, with warnings", () =>
  withTree(async (base, src, expected) => {
    const { stats } = await captureDir(src, `${base}/s.tar.zst`);
    const staged = `${base}/staged`;
    const res = await extractArchive({
      sourcePath: `${base}/s.tar.zst`,
      expectedSha256: stats.sha256,
      targetDirFor: () => staged,
      limits: DEFAULT_LIMITS,
    });
    const got = await treePrint(staged);
    assertMatch(got, /^suid\|f\|755\|/m);
    assertMatch(got, /^sgid\|f\|750\|/m);
    assert(!/security\.capability/.test(got));
    assertEquals(res.stats.warnings.length, 3, res.stats.warnings.join("; "));
    // Everything else is as captured.
    const strip = (s: string) =>
      s.split("\n").filter((l) => !/^(suid|sgid)\||security\.capability/.test(l)).join("\n");
    assertEquals(strip(got), strip(expected));
  }));

Deno.test("an archive GNU tar made (--xattrs --sparse --format=pax) imports and restores to the same tree", () =>
  withTree(async (base, src, expected) => {
    // GNU tar unpacks our capture and packs it again, sparse files and all.
    const { stats } = await captureDir(src, `${base}/s.tar.zst`);
    const x = `${base}/x`;
    Deno.mkdirSync(x);
    await run("tar", ["--xattrs", "--xattrs-include=*", "-xpf", `${base}/s.tar.zst`, "-C", x]);
    await sh(
      `tar --xattrs --xattrs-include='*' --sparse --format=pax -cf "$1" -C "$2" volsnap.json volumes`,
      `${base}/gnu.tar`,
      x,
    );
    assertMatch(
      await sh(`strings "$1" | grep -c GNU.sparse.major || true`, `${base}/gnu.tar`),
      /[1-9]/,
    );
    assert(Deno.statSync(`${base}/gnu.tar`).size < 4 * 1024 * 1024, "GNU tar stored it sparse");
    const staged = `${base}/staged`;
    const imported = await importAndStage(`${base}/gnu.tar`, base, staged, true);
    assertEquals(imported.fileCount, stats.fileCount);
    assertEquals(await treePrint(staged), expected);
    await assertSparse(staged);
  }));
