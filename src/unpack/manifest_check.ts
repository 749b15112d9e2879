/**
 * The manifest's schema check (zod), on the main thread, and reading just the
 * manifest of a stored archive. The archive worker sends the manifest's JSON
 * here rather than loading zod itself.
 */
import { BadArchiveError } from "../core/errors.ts";
import { type Manifest, ManifestSchema } from "../core/model.ts";
import { DecodedStream } from "../compression/decompress.ts";
import { type ArchiveLimits, DEFAULT_LIMITS } from "../tar/limits.ts";
import { TarParser } from "../tar/read_tar.ts";
import { ByteSource } from "../tar/byte_source.ts";
import { readManifestEntry } from "./reader.ts";

/** The parsed manifest JSON, checked against volsnap/1; throws BadArchiveError. */
export function validateManifest(json: unknown): Manifest {
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadArchiveError(
      `manifest is not a valid volsnap/1 manifest: ${
        issue.path.join(".") || "(root)"
      }: ${issue.message}`,
    );
  }
  const seen = new Set<number>();
  for (const v of parsed.data.volumes) {
    if (seen.has(v.index)) {
      throw new BadArchiveError(`manifest lists volume index ${v.index} twice`);
    }
    seen.add(v.index);
  }
  return parsed.data;
}

/**
 * Reads only up to the manifest of a stored archive (no full decode), e.g.
 * to show what a snapshot holds or plan a restore.
 */
export async function readManifestFromFile(
  path: string,
  limits: ArchiveLimits = DEFAULT_LIMITS,
): Promise<Manifest> {
  const file = await Deno.open(path, { read: true });
  return await readManifestFromStream(file.readable, limits); // cancelling closes the file
}

/** As readManifestFromFile, from a stored archive's raw byte stream (cancelled after). */
export async function readManifestFromStream(
  stream: ReadableStream<Uint8Array>,
  limits: ArchiveLimits = DEFAULT_LIMITS,
): Promise<Manifest> {
  const decoded = new DecodedStream(stream, { maxExpandedBytes: limits.maxExpandedBytes });
  const src = new ByteSource(decoded.chunks());
  try {
    return await readManifestEntry(new TarParser(src, limits), limits, validateManifest);
  } finally {
    await src.close();
  }
}
