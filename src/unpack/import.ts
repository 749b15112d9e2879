/**
 * Import of an uploaded archive: the upload is written to a durable temp
 * file while the very same bytes are decoded and validated; the file becomes
 * visible under `finalPath` only when the archive is completely valid.
 */
import { AppError } from "../core/errors.ts";
import type { ArchiveStats, Compression, Manifest } from "../core/model.ts";
import { openDurableWriter } from "../fs/durable.ts";
import type { ArchiveLimits } from "../tar/limits.ts";
import { scanArchive } from "./verify.ts";

export interface ImportOptions {
  body: ReadableStream<Uint8Array>;
  finalPath: string;
  limits: ArchiveLimits;
  /** Raw upload bytes received so far. */
  onProgress?: (bytes: number) => void;
}

export async function importArchive(
  opts: ImportOptions,
): Promise<{ manifest: Manifest; stats: ArchiveStats; compression: Compression }> {
  const out = await openDurableWriter(opts.finalPath, 0o600);
  let received = 0;
  // Each chunk is on disk before the decoder sees it: backpressure flows from
  // both the disk and the decoder to the client, and nothing is buffered.
  const tee = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, ctl) {
      received += chunk.length;
      if (received > opts.limits.maxUploadBytes) {
        throw new AppError(
          "too_large",
          `upload exceeds the limit of ${opts.limits.maxUploadBytes} bytes`,
        );
      }
      await out.write(chunk);
      opts.onProgress?.(received);
      ctl.enqueue(chunk);
    },
  });
  try {
    const result = await scanArchive(opts.body.pipeThrough(tee), opts.limits);
    await out.commit();
    return result;
  } catch (err) {
    await out.abort();
    throw err;
  }
}
