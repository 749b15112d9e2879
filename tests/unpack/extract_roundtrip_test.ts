/**
 * Positive round trips: a volsnap-shaped archive made by GNU tar (pax and gnu
 * formats, zstd / gzip / none) is extracted and the staged tree must match
 * the source exactly: types, modes, owners, mtimes (dirs and links too),
 * link targets, contents, hard-link identity, and the volume root itself.
 */
import fs from "node:fs";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { diffTrees, fingerprint, type TreeEntry } from "../_helpers/tree.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { scanArchive } from "../../src/unpack/verify.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { buildEdgeTree, testManifest } from "../_helpers/craft_tar.ts";

assert(Deno.uid() === 0, "these tests restore owners and must run as root");

interface Made {
  base: string;
  src: string;
  archive: string;
}

async function makeArchive(
  format: "posix" | "gnu",
  compression: "zstd" | "gzip" | "none",
): Promise<Made> {
  const base = await Deno.makeTempDir({ prefix: "vs_rt_" });
  const pack = `${base}/pack`;
  const src = `${pack}/volumes/0`;
  Deno.mkdirSync(src, { recursive: true });
  buildEdgeTree(src);
  const m = testManifest([0]);
  m.volumes[0].root = { uid: 999, gid: 998, mode: 0o750 };
  Deno.writeTextFileSync(`${pack}/volsnap.json`, JSON.stringify(m));
  const filter = compression === "zstd"
    ? "| zstd -q -3 -T0"
    : compression === "gzip"
    ? "| gzip -1"
    : "";
  const archive = `${base}/snap.tar${compression === "none" ? "" : "." + compression}`;
  const cmd =
    `tar --format=${format} -C ${pack} -cf - volsnap.json volumes/0 ${filter} > ${archive}`;
  const out = await new Deno.Command("sh", { args: ["-c", cmd] }).output();
  assert(out.success, `tar failed: ${new TextDecoder().decode(out.stderr)}`);
  return { base, src, archive };
}

/** fingerprint() plus mtimes of dirs and symlinks, in whole ms (Deno writes 1 ms precision). */
function fullPrint(root: string, secondsOnly: boolean): Record<string, TreeEntry & { t?: number }> {
  const fp = fingerprint(root) as Record<string, TreeEntry & { t?: number }>;
  for (const [rel, e] of Object.entries(fp)) {
    const st = fs.lstatSync(rel === "." ? root : `${root}/${rel}`);
    const ms = Math.floor(st.mtimeMs);
    e.t = secondsOnly ? Math.floor(ms / 1000) : ms;
    delete e.mtimeMs;
  }
  return fp;
}

for (
  const [format, compression, how] of [
    ["posix", "zstd", "path"],
    ["posix", "zstd", "stream"],
    ["gnu", "gzip", "path"],
    ["gnu", "gzip", "stream"],
    ["posix", "none", "path"],
  ] as const
) {
  Deno.test(`extract restores a GNU tar ${format}/${compression} archive from a ${how} exactly`, async () => {
    const m = await makeArchive(format, compression);
    try {
      const staging = `${m.base}/staged`;
      const sha = await sha256File(m.archive);
      let progress = 0;
      const res = await extractArchive({
        ...(how === "path"
          ? { sourcePath: m.archive }
          : { source: (await Deno.open(m.archive)).readable }),
        expectedSha256: sha,
        targetDirFor: (i) => (i === 0 ? staging : null),
        limits: DEFAULT_LIMITS,
        onProgress: (n) => progress = n,
      });
      assertEquals(res.stats.sha256, sha);
      assertEquals(res.stats.sizeBytes, (await Deno.stat(m.archive)).size);
      assert(
        progress === res.stats.uncompressedBytes && progress > 3 * 1024 * 1024,
        `progress ${progress}`,
      );
      assertEquals(res.manifest.volumes[0].root.uid, 999);
      // gnu format stores whole seconds only
      const expected = fullPrint(m.src, format === "gnu");
      const got = fullPrint(staging, format === "gnu");
      assertEquals(diffTrees(got, expected), []);
      // spot checks that the fingerprint really covers what matters
      assertEquals(got["."].mode, 0o750);
      assertEquals([got["."].uid, got["."].gid], [999, 998]);
      assertEquals(got["sticky"].mode, 0o1777);
      assertEquals(got["bigid"].uid, 3_000_000);
      assertEquals(got["abs-link"].target, "/etc/passwd");
      assertEquals(got["private/hard2"].linkGroup, "hard1");
      assertEquals(fs.lstatSync(`${staging}/hard1`).nlink, 3);
      assertEquals(res.stats.warnings, []);
    } finally {
      await Deno.remove(m.base, { recursive: true });
    }
  });
}

Deno.test("extract strips setuid/setgid from files, keeps dir setgid, and warns", async () => {
  const base = await Deno.makeTempDir({ prefix: "vs_rt_" });
  try {
    const pack = `${base}/pack`;
    Deno.mkdirSync(`${pack}/volumes/0/g`, { recursive: true });
    Deno.writeTextFileSync(`${pack}/volsnap.json`, JSON.stringify(testManifest([0])));
    Deno.writeTextFileSync(`${pack}/volumes/0/suid`, "x");
    fs.chmodSync(`${pack}/volumes/0/suid`, 0o4755);
    Deno.writeTextFileSync(`${pack}/volumes/0/sgid`, "x");
    fs.chmodSync(`${pack}/volumes/0/sgid`, 0o2711);
    fs.chmodSync(`${pack}/volumes/0/g`, 0o2770);
    const archive = `${base}/a.tar`;
    const out = await new Deno.Command("tar", {
      args: ["--format=posix", "-C", pack, "-cf", archive, "volsnap.json", "volumes/0"],
    }).output();
    assert(out.success);
    const staging = `${base}/staged`;
    const res = await extractArchive({
      source: (await Deno.open(archive)).readable,
      targetDirFor: () => staging,
      limits: DEFAULT_LIMITS,
    });
    assertEquals(fs.statSync(`${staging}/suid`).mode & 0o7777, 0o755);
    assertEquals(fs.statSync(`${staging}/sgid`).mode & 0o7777, 0o711);
    assertEquals(fs.statSync(`${staging}/g`).mode & 0o7777, 0o2770);
    assertEquals(res.stats.warnings.sort(), [
      "setuid/setgid bits removed from volumes/0/sgid",
      "setuid/setgid bits removed from volumes/0/suid",
    ]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("extract skips volumes without a target and uses the manifest root when the archive has none", async () => {
  const base = await Deno.makeTempDir({ prefix: "vs_rt_" });
  try {
    const pack = `${base}/pack`;
    Deno.mkdirSync(`${pack}/volumes/0`, { recursive: true });
    Deno.mkdirSync(`${pack}/volumes/1`, { recursive: true });
    Deno.writeTextFileSync(`${pack}/volumes/0/a`, "zero");
    Deno.writeTextFileSync(`${pack}/volumes/1/b`, "one");
    const man = testManifest([0, 1]);
    man.volumes[1].root = { uid: 42, gid: 43, mode: 0o710 };
    Deno.writeTextFileSync(`${pack}/volsnap.json`, JSON.stringify(man));
    const archive = `${base}/a.tar.zst`;
    // volumes/1's own dir entry is left out: only its file is archived.
    const cmd = `tar --format=posix --no-recursion -C ${pack} -cf - volsnap.json volumes ` +
      `volumes/1/b volumes/0 volumes/0/a | zstd -q > ${archive}`;
    const sh = await new Deno.Command("sh", { args: ["-c", cmd] }).output();
    assert(sh.success, new TextDecoder().decode(sh.stderr));
    const listing = await new Deno.Command("sh", {
      args: ["-c", `zstd -dc ${archive} | tar -tf -`],
    })
      .output();
    assertEquals(new TextDecoder().decode(listing.stdout).trim().split("\n"), [
      "volsnap.json",
      "volumes/",
      "volumes/1/b",
      "volumes/0/",
      "volumes/0/a",
    ]);
    const res = await extractArchive({
      source: (await Deno.open(archive)).readable,
      targetDirFor: (i) => (i === 1 ? `${base}/v1` : null),
      limits: DEFAULT_LIMITS,
    });
    assertEquals(res.stats.fileCount, 3);
    assertEquals([...Deno.readDirSync(`${base}/v1`)].map((e) => e.name), ["b"]);
    const st = fs.statSync(`${base}/v1`);
    assertEquals([st.uid, st.gid, st.mode & 0o7777], [42, 43, 0o710]);
    assert(!fs.existsSync(`${base}/v0`));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("scanArchive reads a GNU tar archive fully without writing", async () => {
  const m = await makeArchive("posix", "zstd");
  try {
    const before = [...Deno.readDirSync(m.base)].length;
    const res = await scanArchive((await Deno.open(m.archive)).readable, DEFAULT_LIMITS);
    assertEquals(res.compression, "zstd");
    assertEquals(res.stats.sha256, await sha256File(m.archive));
    assert(res.stats.fileCount > 20, `fileCount ${res.stats.fileCount}`);
    assertEquals([...Deno.readDirSync(m.base)].length, before);
  } finally {
    await Deno.remove(m.base, { recursive: true });
  }
});

export async function sha256File(path: string): Promise<string> {
  const out = await new Deno.Command("sha256sum", { args: [path] }).output();
  return new TextDecoder().decode(out.stdout).split(" ")[0];
}

Deno.test("extract and scan read a stored zstd archive through a symlinked path", async () => {
  // The zstd CLI silently skips symlinked inputs; a data dir behind a symlink must still work.
  const m = await makeArchive("posix", "zstd");
  try {
    const link = `${m.base}/link.tar.zst`;
    Deno.symlinkSync(m.archive, link);
    const sha = await sha256File(m.archive);
    const scanned = await scanArchive({ path: link }, DEFAULT_LIMITS);
    assertEquals(scanned.stats.sha256, sha);
    assert(scanned.stats.fileCount > 20, `fileCount ${scanned.stats.fileCount}`);
    const staging = `${m.base}/staged`;
    await extractArchive({
      sourcePath: link,
      targetDirFor: (i) => (i === 0 ? staging : null),
      limits: DEFAULT_LIMITS,
    });
    assertEquals(diffTrees(fullPrint(staging, false), fullPrint(m.src, false)), []);
  } finally {
    await Deno.remove(m.base, { recursive: true });
  }
});
