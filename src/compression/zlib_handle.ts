/**
 * node:zlib's internal compression handle, driven directly with caller-owned
 * buffers (no allocation per batch). It is not a public API, so it is opened
 * in one place that checks its shape and fails with a clear message.
 */
import zlib from "node:zlib";

/** The node-compatible zlib handle (present in Deno's node:zlib). */
export interface ZHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
}

export const HANDLE_CHANGED = "node:zlib's internal handle API is not what this build expects; " +
  "the in-process compression fallback cannot run (install the zstd program, or use " +
  "compression=none)";

/**
 * A zstd (with content checksum) or gzip compression handle, or a zstd
 * decompression one ("unzstd", which throws on a damaged frame), and its
 * write state [availOut, availIn].
 */
export function openZlibHandle(
  kind: "zstd" | "gzip" | "unzstd",
  level: number,
  zstdParams: Record<number, number> = {},
): { handle: ZHandle; state: Uint32Array } {
  const Z = zlib.constants;
  const stream = kind === "zstd"
    ? zlib.createZstdCompress({
      params: { [Z.ZSTD_c_compressionLevel]: level, [Z.ZSTD_c_checksumFlag]: 1, ...zstdParams },
    })
    : kind === "unzstd"
    ? zlib.createZstdDecompress()
    : zlib.createGzip({ level });
  const s = stream as unknown as { _handle?: ZHandle; _writeState?: Uint32Array };
  if (
    typeof s._handle?.writeSync !== "function" || typeof s._handle.reset !== "function" ||
    !(s._writeState instanceof Uint32Array)
  ) throw new Error(HANDLE_CHANGED);
  return { handle: s._handle, state: s._writeState };
}
