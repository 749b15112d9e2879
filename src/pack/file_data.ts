/**
 * A file's bytes read straight into the tar stream's batches (no copies in
 * between), with the content digest fed on the way. A read error ends the
 * read early: the caller stores the rest as zeros and warns.
 */
import type { TarSink } from "./pack_sink.ts";
import type { VolumeFs } from "./volume_fs.ts";

/**
 * Reads up to `size + 1` bytes to the sink's current position, which has
 * room for them; returns bytes read. A short read of a regular file is its
 * end, so an unchanged file costs one read call.
 */
export function readSmall(
  vfs: VolumeFs,
  sink: TarSink,
  fd: number,
  size: number,
  onError: (err: unknown) => void,
): number {
  const buf = sink.buf;
  const start = sink.pos;
  let done = 0;
  while (done <= size) {
    const want = size + 1 - done;
    let n: number;
    try {
      n = vfs.read(fd, buf.subarray(start + done, start + size + 1));
    } catch (err) {
      onError(err);
      return Math.min(done, size);
    }
    if (!n) break;
    done += n;
    if (n < want) break;
  }
  return done;
}

/** Reads up to `size` bytes into the sink's batches (and the digest); returns bytes read. */
export async function copyFile(
  vfs: VolumeFs,
  sink: TarSink,
  fd: number,
  size: number,
  onError: (err: unknown) => void,
): Promise<number> {
  let done = 0;
  while (done < size) {
    const space = sink.freeSpace();
    const want = Math.min(space.length, size - done);
    let n: number;
    try {
      n = vfs.read(fd, want === space.length ? space : space.subarray(0, want));
    } catch (err) {
      onError(err);
      return done;
    }
    if (!n) return done;
    done += n;
    sink.digest?.data(space.subarray(0, n));
    await sink.advance(n);
  }
  return done;
}
