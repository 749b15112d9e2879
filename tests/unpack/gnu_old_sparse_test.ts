/**
 * `tar -S` in GNU tar's default format writes old GNU sparse entries
 * (typeflag S, the map in the header and in extension blocks). A capture
 * that GNU tar unpacked and packed again that way imports and restores to
 * the same files, sparse; a lying old-GNU map is refused.
 */
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { blocks, sh, treePrint } from "../_helpers/fidelity_tree.ts";
import { captureDir, importAndStage, run } from "../pack/writer_helpers.ts";
import { importArchive } from "../../src/unpack/import.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";

const MiB = 1 << 20;
/** The GNU format keeps whole seconds of mtime only. */
const seconds = (print: string) => print.replace(/\|(\d+)\.\d+(\||$)/gm, "|$1$2");

/** Sparse files of every old-GNU shape: > 25 segments (two extension blocks), all hole, hole last. */
function buildTree(src: string) {
  Deno.mkdirSync(src, { recursive: true });
  const many = Deno.openSync(`${src}/many`, { write: true, create: true });
  for (let i = 0; i < 30; i++) {
    many.seekSync(i * 64 * 1024, Deno.SeekMode.Start);
    many.writeSync(new Uint8Array(4096).fill(i + 1));
  }
  many.truncateSync(2 * MiB + 123);
  many.close();
  Deno.writeFileSync(`${src}/hole_last`, new Uint8Array(4096).fill(9));
  Deno.truncateSync(`${src}/hole_last`, MiB);
  Deno.writeFileSync(`${src}/all_hole`, new Uint8Array(0));
  Deno.truncateSync(`${src}/all_hole`, MiB);
  Deno.writeFileSync(`${src}/plain`, new TextEncoder().encode("plain file\n"));
}

Deno.test("an archive GNU tar made with -S in its default format imports and restores sparse", async () => {
  const base = await Deno.makeTempDir({ prefix: "volsnap-oldsparse-" });
  try {
    const src = `${base}/src`;
    buildTree(src);
    const expected = seconds(await treePrint(src));
    const { stats } = await gnuRepack(src, base);
    // Really old GNU sparse: typeflag S headers, extension blocks for `many`.
    const typeflags = await sh(
      `python3 -c 'import sys,tarfile; [print(m.name, m.type.decode()) for m in tarfile.open(sys.argv[1])]' "$1"`,
      `${base}/gnu.tar`,
    );
    assertMatch(typeflags, /volumes\/0\/many S/);
    assertMatch(typeflags, /volumes\/0\/all_hole S/);
    assert(Deno.statSync(`${base}/gnu.tar`).size < 512 * 1024, "GNU tar stored it sparse");

    const staged = `${base}/staged`;
    assertEquals(
      (await importAndStage(`${base}/gnu.tar`, base, staged)).fileCount,
      stats.fileCount,
    );
    assertEquals(seconds(await treePrint(staged)), expected);
    for (const f of ["many", "hole_last", "all_hole"]) {
      const b = await blocks(`${staged}/${f}`);
      assert(b < 400, `${f} restored with ${b} blocks: not sparse`);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("an old GNU sparse entry whose map lies is refused", async () => {
  const base = await Deno.makeTempDir({ prefix: "volsnap-oldsparse-" });
  try {
    const src = `${base}/src`;
    buildTree(src);
    await gnuRepack(src, base);
    const tar = Deno.readFileSync(`${base}/gnu.tar`);
    // The header of `hole_last`: its one segment made longer than the data it carries.
    const at = findHeader(tar, "volumes/0/hole_last");
    assertEquals(String.fromCharCode(tar[at + 156]), "S");
    const len = at + 386 + 12;
    tar.set(new TextEncoder().encode("00000020000\0"), len); // 8192 instead of 4096
    fixChecksum(tar, at);
    const file = await Deno.open(`${base}/gnu.tar`, { write: true, truncate: true });
    await file.write(tar);
    file.close();
    const err = await importArchive({
      body: (await Deno.open(`${base}/gnu.tar`)).readable,
      finalPath: `${base}/imported.tar`,
      limits: DEFAULT_LIMITS,
    }).then(() => undefined, (e) => e as Error);
    assert(err, "a lying old GNU sparse map was accepted");
    assertMatch(
      err.message,
      /sparse entry 'volumes\/0\/hole_last' maps 8192 data bytes but carries 4096/,
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

/** A capture of `src`, unpacked and packed again by GNU tar -S in its default format: base/gnu.tar. */
async function gnuRepack(src: string, base: string) {
  const capture = await captureDir(src, `${base}/s.tar.zst`);
  const x = `${base}/x`;
  Deno.mkdirSync(x);
  await run("tar", ["-xpf", `${base}/s.tar.zst`, "-C", x]);
  const gnu = ["--sparse", "--format=gnu", "-cf", `${base}/gnu.tar`, "-C", x];
  await run("tar", [...gnu, "volsnap.json", "volumes"]);
  return capture;
}

function findHeader(tar: Uint8Array, name: string): number {
  const want = new TextEncoder().encode(name + "\0");
  for (let at = 0; at + 512 <= tar.length; at += 512) {
    if (want.every((c, i) => tar[at + i] === c)) return at;
  }
  throw new Error(`no header for ${name}`);
}

function fixChecksum(tar: Uint8Array, at: number) {
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[at + i];
  tar.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), at + 148);
}
