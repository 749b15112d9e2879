/**
 * The zstd program, when installed: multi-threaded compression, and decoding
 * that reports corrupt and truncated frames (Deno 2.9's streaming decoder
 * throws checksum errors uncaught and accepts truncation).
 */
export const ZSTD_BIN = "zstd";
let found: boolean | undefined;

/** Whether a zstd CLI is on PATH (checked once per process). */
export function zstdCliAvailable(): boolean {
  if (found === undefined) {
    try {
      found = new Deno.Command(ZSTD_BIN, { args: ["-V"], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      found = false;
    }
  }
  return found;
}
