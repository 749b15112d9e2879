/**
 * A framed snapshot on disk: `<data>/archives/<workload>/<id>.frames`, a JSON
 * document with the ordered frame list (the standalone stream is these
 * frames' compressed bytes back to back), its size and sha256, and what
 * incremental capture needs of it (large files' identities, frames and content
 * sha256, each
 * volume root's device). Written by the durable recipe once every frame it
 * lists is durable in the store.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { AppError, errMessage } from "../core/errors.ts";
import { writeFileDurable } from "../fs/durable.ts";
import type { FileRecord } from "./parent.ts";
import { DIGEST_CHUNK } from "../drill/content_digest.ts";
import type { FrameRef } from "./store.ts";

export const FRAMES_EXT = ".frames";
/**
 * /4: a frame may be a span of a stored frame ([id, size, rawSize, from]).
 * /3: a checksum of the document (its last member), and large files' content
 * sha256 by the chunked rule (content_digest.ts). /2 lists have the checksum
 * and plain sha256s; /1 lists neither. All are still read.
 */
const FORMAT = "volsnap-frames/4";
const FORMAT_3 = "volsnap-frames/3";
const FORMAT_2 = "volsnap-frames/2";
const LEGACY_FORMAT = "volsnap-frames/1";
const CHECK_KEY = ',"check":"';

export interface FramedSnapshot {
  snapshotId: string;
  level: number;
  /** Bytes of the standalone stream. */
  size: number;
  /** Bytes of the tar stream inside it. */
  rawSize: number;
  sha256: string;
  frames: FrameRef[];
  /** Each frame's recipe (frame_recipe.ts), by index; absent in older lists. */
  recipes?: (string | null)[];
  files: FileRecord[];
  /** Device of each volume root, by manifest index (a changed device means a full capture). */
  roots: { index: number; dev: number }[];
}

const Hex = z.string().regex(/^[0-9a-f]{64}$/);
const Positive = z.number().int().positive();
const FileFields = [
  z.string(),
  z.number(),
  z.number(),
  z.number(),
  z.number(),
  z.number(),
  z.number(),
  z.number().int().nonnegative(),
  z.number().int().nonnegative(),
] as const;
const DocSchema = z.object({
  format: z.union([
    z.literal(FORMAT),
    z.literal(FORMAT_3),
    z.literal(FORMAT_2),
    z.literal(LEGACY_FORMAT),
  ]),
  snapshotId: z.string(),
  level: z.number().int(),
  size: z.number().int().nonnegative(),
  rawSize: z.number().int().nonnegative(),
  sha256: Hex,
  frames: z.array(z.union([
    z.tuple([Hex, Positive, Positive, z.number().int().nonnegative()]),
    z.tuple([Hex, Positive, Positive]),
  ])),
  recipes: z.array(Hex.nullable()).optional(),
  // path, dev, inoHi, inoLo, size, mtimeMs, ctimeMs, first, count[, content sha256[, offset]]
  files: z.array(z.union([
    z.tuple([...FileFields, Hex, z.number().int().nonnegative()]),
    z.tuple([...FileFields, Hex]),
    z.tuple(FileFields),
  ])),
  roots: z.array(z.object({ index: z.number().int(), dev: z.number() })),
});

export function isFramedFile(file: string): boolean {
  return file.endsWith(FRAMES_EXT);
}

export async function writeFramedSnapshot(path: string, s: FramedSnapshot): Promise<void> {
  const doc: z.infer<typeof DocSchema> = {
    format: FORMAT,
    snapshotId: s.snapshotId,
    level: s.level,
    size: s.size,
    rawSize: s.rawSize,
    sha256: s.sha256,
    frames: s.frames.map((f) =>
      f.from === undefined ? [f.id, f.size, f.rawSize] : [f.id, f.size, f.rawSize, f.from]
    ),
    files: s.files.map((f) => {
      const fields = [
        f.path,
        f.dev,
        f.inoHi,
        f.inoLo,
        f.size,
        f.mtimeMs,
        f.ctimeMs,
        f.first,
        f.count,
      ];
      const tail = !f.sha256 ? [] : f.offset === undefined ? [f.sha256] : [f.sha256, f.offset];
      return [...fields, ...tail] as z.infer<typeof DocSchema>["files"][0];
    }),
    recipes: s.recipes,
    roots: s.roots,
  };
  // The checksum covers every byte before it: a frame list is trusted by the
  // next incremental capture (file records point into frames), so any damage
  // must make it unreadable rather than quietly wrong.
  // JSON has no NaN or Infinity (they would come back as null and the list
  // would not parse): refuse them here. Only file records hold stat values.
  for (const f of doc.files) {
    for (const v of f) {
      if (typeof v === "number" && !Number.isFinite(v)) {
        throw new Error(`frame list ${path}: a file record of ${f[0]} is not finite numbers`);
      }
    }
  }
  const text = JSON.stringify(doc);
  const check = createHash("sha256").update(text).digest("hex");
  await writeFileDurable(path, `${text.slice(0, -1)}${CHECK_KEY}${check}"}`, 0o600);
}

/**
 * Reads and checks a frame list. A list that does not parse or does not add
 * up is damage on disk, reported as integrity_error (422), never as a 500.
 */
export async function readFramedSnapshot(path: string): Promise<FramedSnapshot> {
  const text = await Deno.readTextFile(path);
  try {
    return parseFramedSnapshot(path, text);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError("integrity_error", `frame list ${path} is damaged: ${errMessage(err)}`, {
      hint: "the snapshot cannot be read; restore another snapshot, or its off-host copy",
    });
  }
}

function parseFramedSnapshot(path: string, text: string): FramedSnapshot {
  const cut = text.lastIndexOf(CHECK_KEY);
  const body = cut < 0 ? text : text.slice(0, cut) + "}";
  if (cut >= 0) {
    const want = text.slice(cut + CHECK_KEY.length, -2);
    if (createHash("sha256").update(body).digest("hex") !== want || !text.endsWith('"}')) {
      throw new Error(`frame list ${path} does not match its checksum`);
    }
  }
  const doc = DocSchema.parse(JSON.parse(body));
  if (doc.format !== LEGACY_FORMAT && cut < 0) {
    throw new Error(`frame list ${path} lacks its checksum`);
  }
  // An older list's large-file sha256 is by another rule: such files are read again.
  const trustSha = (size: number) =>
    doc.format === FORMAT || doc.format === FORMAT_3 || size <= DIGEST_CHUNK;
  let size = 0;
  let rawSize = 0;
  if (doc.format !== FORMAT && doc.frames.some((f) => f.length > 3)) {
    throw new Error(`frame list ${path} holds spans its format has not`);
  }
  const frames = doc.frames.map(([id, s, r, from]): FrameRef => {
    size += s;
    rawSize += r;
    return from === undefined ? { id, size: s, rawSize: r } : { id, size: s, rawSize: r, from };
  });
  if (size !== doc.size || rawSize !== doc.rawSize) {
    throw new Error(`frame list ${path} does not add up to its recorded size`);
  }
  for (const f of doc.files) {
    if (f[7] + Math.max(f[8], 1) > frames.length) {
      throw new Error(`frame list ${path}: file beyond the frames`);
    }
  }
  if (doc.recipes && doc.recipes.length !== frames.length) {
    throw new Error(`frame list ${path}: recipes do not match the frames`);
  }
  return {
    snapshotId: doc.snapshotId,
    level: doc.level,
    size,
    rawSize,
    sha256: doc.sha256,
    frames,
    recipes: doc.recipes,
    files: doc.files.map((
      [path, dev, inoHi, inoLo, sz, mtimeMs, ctimeMs, first, count, sha, offset],
    ) => ({
      path,
      dev,
      inoHi,
      inoLo,
      size: sz,
      mtimeMs,
      ctimeMs,
      first,
      count,
      ...(sha && trustSha(sz) ? { sha256: sha } : {}),
      ...(offset !== undefined ? { offset } : {}),
    })),
    roots: doc.roots,
  };
}
