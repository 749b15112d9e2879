/**
 * Finding: a sparse map of more than ~4090 segments is cut short when the
 * archive worker sends the entry to the main thread (BatchEncoder#reserve
 * doubles the number array once, however many numbers the entry needs; the
 * Float64Array silently drops the writes past its end). The extractor and
 * archiveDigests then see a map whose tail is (0, 0) pairs. Reached by old
 * GNU sparse entries (typeflag S, up to ~43k segments under maxHeaderBytes),
 * by PAX 1.0 maps, and by volsnap's own captures of fragmented sparse files.
 */
import { assertEquals } from "../_helpers/assert.ts";
import { BatchEncoder, decodeBatch } from "../../src/unpack/batch_codec.ts";
import type { VolumeEntry } from "../../src/unpack/reader.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { sandbox, volsnapTar, writeArchiveFile } from "../_helpers/craft_tar.ts";
import { concatBytes } from "../../src/core/bytes.ts";
import { oldGnuSparse, type Slot } from "./_old_gnu_sparse.ts";

const SEGMENTS = 5000;
const STEP = 4096;
/** Whole blocks, as GNU tar lays segments out (a shorter one before the last is refused). */
const SEG = 512;

function bigMap(): number[] {
  const map: number[] = [];
  for (let i = 0; i < SEGMENTS; i++) map.push(i * STEP, SEG);
  return map;
}

Deno.test("batch codec keeps a sparse map of 5000 segments intact", () => {
  const map = bigMap();
  const enc = new BatchEncoder();
  const e: VolumeEntry = {
    index: 0,
    rel: "f",
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtimeMs: 0,
    size: SEGMENTS * SEG,
    link: "",
    implicitDirs: [],
    sparse: { realSize: SEGMENTS * STEP, map },
  };
  enc.entry(e);
  const got: VolumeEntry[] = [];
  decodeBatch(enc.take(), new Uint8Array(0), { entry: (x) => got.push(x), data: () => {} });
  assertEquals(got[0].sparse!.map.length, map.length);
  assertEquals(got[0].sparse!.map, map, "the decoded map differs from the encoded one");
});

Deno.test("an old GNU sparse file of 5000 segments extracts with all its data", async () => {
  const sb = await sandbox();
  try {
    const map = bigMap();
    const slots: Slot[] = [];
    const data = new Uint8Array(SEGMENTS * SEG);
    for (let i = 0; i < SEGMENTS; i++) {
      slots.push([map[2 * i], map[2 * i + 1]]);
      data.fill((i % 251) + 1, i * SEG, (i + 1) * SEG);
    }
    const tar = concatBytes([
      volsnapTar([], { eof: false }),
      oldGnuSparse({ name: "volumes/0/frag", realSize: SEGMENTS * STEP, slots, data }),
      new Uint8Array(1024),
    ]);
    const path = await writeArchiveFile(`${sb.base}/a.tar`, tar, "none");
    const err = await extractArchive({
      sourcePath: path,
      targetDirFor: () => sb.staging,
      limits: DEFAULT_LIMITS,
    }).then(() => null, (e) => e as Error);
    assertEquals(err, null, `extraction failed: ${err?.message}`);
    const out = Deno.readFileSync(`${sb.staging}/frag`);
    assertEquals(out.length, SEGMENTS * STEP);
    const wrong: number[] = [];
    for (let i = 0; i < SEGMENTS; i++) {
      if (out[i * STEP] !== data[i * SEG] || out[i * STEP + SEG - 1] !== data[i * SEG]) {
        wrong.push(i);
      }
    }
    assertEquals(wrong.length, 0, `segments ${wrong[0]}..${wrong.at(-1)} lost their data`);
  } finally {
    await Deno.remove(sb.base, { recursive: true });
  }
});
