/**
 * Finding: the old GNU sparse reader (read_tar.ts #readOldGnuSparse) reads
 * an S entry's data differently from GNU tar 1.34, so one archive holds
 * different files for volsnap and for GNU tar:
 *
 * 1. GNU tar reads each segment's data from a fresh 512-byte block
 *    (sparse_extract_region: one find_next_block per <= 512 bytes of a
 *    segment); volsnap reads the segments back to back. With a map of
 *    (0, 1), (512, 1) and size 2, GNU tar takes two data blocks, volsnap one:
 *    the second block is a header only volsnap sees (a smuggled entry).
 * 2. GNU tar ends the map at a slot whose *numbytes* starts with NUL
 *    (oldgnu_add_sparse); volsnap at a slot whose *offset* does. A slot
 *    (offset "0…0", numbytes NUL) followed by (0, 10): GNU tar writes an
 *    empty file, volsnap writes the 10 bytes.
 *
 * Either way volsnap must refuse such an archive or read it as GNU tar does.
 */
import { assertEquals } from "../_helpers/assert.ts";
import { BadArchiveError } from "../../src/core/errors.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { header, sandbox, volsnapTar, writeArchiveFile } from "../_helpers/craft_tar.ts";
import { concatBytes } from "../../src/core/bytes.ts";
import { oldGnuSparse } from "./_old_gnu_sparse.ts";

const enc = new TextEncoder();

function listTree(root: string, rel = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Deno.readDirSync(root + (rel ? `/${rel}` : ""))) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) Object.assign(out, listTree(root, p));
    else {
      const b = Deno.readFileSync(`${root}/${p}`);
      const nz = [...b.keys()].filter((i) => b[i] !== 0).map((i) => `${i}:${b[i]}`);
      out[p] = `${b.length} bytes, non-zero ${nz.join(" ")}`;
    }
  }
  return out;
}

/** volsnap must refuse the archive, or extract volume 0 exactly as GNU tar does. */
async function sameAsGnuTar(tar: Uint8Array) {
  const sb = await sandbox();
  try {
    const path = await writeArchiveFile(`${sb.base}/a.tar`, tar, "none");
    const err = await extractArchive({
      sourcePath: path,
      targetDirFor: () => sb.staging,
      limits: DEFAULT_LIMITS,
    }).then(() => null, (e) => e);
    if (err instanceof BadArchiveError) return; // refused: fine
    if (err) throw err;
    const gnu = `${sb.base}/gnu`;
    Deno.mkdirSync(gnu);
    await new Deno.Command("tar", { args: ["-xf", path, "-C", gnu], stderr: "null" }).output();
    assertEquals(listTree(sb.staging), listTree(`${gnu}/volumes/0`));
  } finally {
    await Deno.remove(sb.base, { recursive: true });
  }
}

Deno.test("old GNU sparse: segments not a multiple of 512 before the last are read as GNU tar does (or refused)", async () => {
  const data = new Uint8Array([0x41, 0x42]);
  const entry = oldGnuSparse({
    name: "volumes/0/a",
    realSize: 1024,
    slots: [[0, 1], [512, 1]],
    data,
  });
  // For GNU tar: the data block of segment 2. For volsnap: a header.
  const smuggled = header({ name: "volumes/0/evil", type: "0" }, 0);
  await sameAsGnuTar(
    concatBytes([volsnapTar([], { eof: false }), entry, smuggled, new Uint8Array(1024)]),
  );
});

Deno.test("old GNU sparse: a slot whose numbytes is empty ends the map, as in GNU tar (or is refused)", async () => {
  const nul12 = new Uint8Array(12);
  const entry = oldGnuSparse({
    name: "volumes/0/a",
    realSize: 10,
    slots: [[0, nul12], [0, 10]],
    data: enc.encode("ABCDEFGHIJ"),
  });
  await sameAsGnuTar(concatBytes([volsnapTar([], { eof: false }), entry, new Uint8Array(1024)]));
});
