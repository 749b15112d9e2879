/**
 * An archive written by writeSnapshotArchive, extracted by GNU tar as root,
 * reproduces every path, type, mode, owner, mtime (ms), link target, content
 * and hard-link identity of the volume, including the volume root itself.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import fs from "node:fs";
import { writeSnapshotArchive } from "../../src/pack/writer.ts";
import { archiveExtension } from "../../src/core/model.ts";
import { zstdFrameChecksummed } from "../../src/compression/decompress.ts";
import { MANIFEST_NAME, ManifestSchema } from "../../src/core/model.ts";
import type { Compression } from "../../src/core/model.ts";
import { describeTree, draft, run, tempFiles } from "./writer_helpers.ts";

const LONG_DIR = `deep/${"a".repeat(60)}/${"b".repeat(60)}/${"c".repeat(60)}`;
const LONG_FILE = `${LONG_DIR}/file_${"d".repeat(80)}`; // > 255 bytes
const NAME_150 = `n${"x".repeat(149)}`; // > 100 bytes, one component
const LONG_TARGET = `${"t".repeat(60)}/${"u".repeat(60)}/missing`; // > 100 bytes

/** Builds the edge-case volume; returns its path. */
async function buildVolume(base: string): Promise<string> {
  const v = `${base}/vol`;
  const mk = (p: string, mode: number) => {
    Deno.mkdirSync(`${v}/${p}`, { recursive: true });
    Deno.chmodSync(`${v}/${p}`, mode);
  };
  const file = (p: string, data: string | Uint8Array, mode = 0o644) => {
    Deno.writeFileSync(
      `${v}/${p}`,
      typeof data === "string" ? new TextEncoder().encode(data) : data,
    );
    Deno.chmodSync(`${v}/${p}`, mode);
  };
  Deno.mkdirSync(v);
  mk("dir700", 0o700);
  mk("sticky", 0o1777);
  mk("empty", 0o755);
  mk("empty2/nested-empty", 0o711);
  mk(LONG_DIR, 0o755);
  file("f600.txt", "private\n", 0o600);
  file("suid", "#!/bin/sh\n", 0o4755);
  file("sgid", "x", 0o2750);
  file("big_uid", "owned by a large uid\n");
  file("ms.txt", "sub-second mtime\n");
  file("old.txt", "from 1970\n");
  file("future.txt", "from 2100\n");
  file("ünïcødé.txt", "unicode name\n");
  file(NAME_150, "long name\n");
  file(LONG_FILE, "deep file\n");
  file("empty.bin", "");
  const rnd = new Uint8Array(300_000);
  for (let i = 0; i < rnd.length; i += 65536) crypto.getRandomValues(rnd.subarray(i, i + 65536));
  file("dir700/random.bin", rnd);
  file("h1", "hard linked three ways\n");
  Deno.linkSync(`${v}/h1`, `${v}/dir700/h2`);
  Deno.linkSync(`${v}/h1`, `${v}/sticky/h3`);
  Deno.symlinkSync("dir700/random.bin", `${v}/rel`);
  Deno.symlinkSync("/etc/passwd", `${v}/abs`);
  Deno.symlinkSync("nope/missing", `${v}/dangling`);
  Deno.symlinkSync(LONG_TARGET, `${v}/longlink`);
  await run("mkfifo", [`${v}/pipe`]);

  fs.chownSync(`${v}/f600.txt`, 1234, 2345);
  fs.chownSync(`${v}/dir700`, 1234, 2345);
  fs.chownSync(`${v}/big_uid`, 3000000, 3000001);
  fs.lchownSync(`${v}/abs`, 1234, 2345);
  fs.lchownSync(`${v}/longlink`, 3000000, 2345);
  fs.chmodSync(`${v}/suid`, 0o4755); // chown clears setuid; none here, but be explicit
  fs.utimesSync(`${v}/old.txt`, 1000, 1000.5);
  fs.utimesSync(`${v}/future.txt`, 4102444800, 4102444800.123);
  fs.utimesSync(`${v}/ms.txt`, 1700000000, 1700000000.456);
  fs.lutimesSync(`${v}/rel`, 1600000000, 1600000000.789);
  // Directories last: creating entries inside them changes their mtime.
  fs.utimesSync(`${v}/empty`, 1500000000, 1500000000.25);
  fs.utimesSync(`${v}/dir700`, 1400000000, 1400000000.5);
  fs.chownSync(v, 1234, 2345);
  fs.chmodSync(v, 0o750);
  fs.utimesSync(v, 1650000000, 1650000000.125);
  return v;
}

const cases: { compression: Compression; engine?: "cli" | "node" }[] = [
  { compression: "zstd", engine: "cli" },
  { compression: "zstd", engine: "node" },
  { compression: "gzip" },
  { compression: "none" },
];

for (const c of cases) {
  Deno.test(`writeSnapshotArchive (${c.compression}${c.engine ? "/" + c.engine : ""}) round-trips every entry through GNU tar`, async () => {
    const base = await Deno.makeTempDir({ prefix: "vs_wfid_" });
    try {
      const vol = await buildVolume(base);
      const expected = await describeTree(vol);
      const finalPath = `${base}/snap${archiveExtension(c.compression)}`;
      const { manifest, stats } = await writeSnapshotArchive({
        finalPath,
        manifest: draft(),
        sources: [{ index: 0, hostPath: vol }],
        compression: c.compression,
        zstdEngine: c.engine,
      });

      assertEquals(tempFiles(base), []);
      assertEquals(stats.skippedSpecial, 0, "the fifo is archived");
      assertEquals(stats.warnings, []);
      assertEquals(manifest.volumes[0].root, { uid: 1234, gid: 2345, mode: 0o750 });
      assertEquals(stats.sizeBytes, Deno.statSync(finalPath).size);
      assertEquals(stats.sha256, (await run("sha256sum", [finalPath])).split(" ")[0]);

      const listing = (await run("tar", ["-tvf", finalPath])).trimEnd().split("\n");
      assert(listing[0].endsWith(` ${MANIFEST_NAME}`), `first entry: ${listing[0]}`);
      assertEquals(stats.fileCount, listing.length - 1);
      assert(listing.some((l) => l.includes("3000000/3000001")), "uid 3000000 listed");
      const names = (await run("tar", ["-tf", finalPath])).trimEnd().split("\n");
      assert(names.some((n) => n.endsWith("/pipe")), "fifo archived");
      if (c.compression === "none") assertEquals(stats.uncompressedBytes, stats.sizeBytes);
      // Restore skips a second hash only for archives whose zstd frame is checksummed.
      assertEquals(await zstdFrameChecksummed(finalPath), c.compression === "zstd");

      const dest = `${base}/out`;
      Deno.mkdirSync(dest);
      await run("tar", ["-xpf", finalPath, "--numeric-owner", "-C", dest]);
      const stored = ManifestSchema.parse(
        JSON.parse(Deno.readTextFileSync(`${dest}/${MANIFEST_NAME}`)),
      );
      assertEquals(stored, manifest);

      const root = Deno.lstatSync(`${dest}/volumes/0`);
      assertEquals([root.uid, root.gid, root.mode! & 0o7777], [1234, 2345, 0o750]);
      assertEquals(root.mtime!.getTime(), 1650000000125);

      const actual = await describeTree(`${dest}/volumes/0`);
      assertEquals([...actual.keys()].sort(), [...expected.keys()].sort());
      for (const [path, want] of expected) {
        const got = actual.get(path)!;
        const strip = ({ ino: _i, ...rest }: typeof want) => rest;
        assertEquals(strip(got), strip(want), path);
      }
      // Hard-link identity: the three names share one inode after extraction.
      const inos = ["h1", "dir700/h2", "sticky/h3"].map((p) => actual.get(p)!.ino);
      assertEquals(new Set(inos).size, 1);
      assert(actual.get(LONG_FILE) && actual.get(NAME_150), "long paths present");
      assertEquals(actual.get("longlink")!.target, LONG_TARGET);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  });
}
