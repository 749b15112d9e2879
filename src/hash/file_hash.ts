import { createHash } from "node:crypto";

/** Hex SHA-256 of a file, streamed in 4 MiB reads. */
export async function sha256File(path: string, onProgress?: (n: number) => void): Promise<string> {
  const h = createHash("sha256");
  const f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(4 << 20);
  let total = 0;
  try {
    for (;;) {
      const n = await f.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
      total += n;
      onProgress?.(total);
    }
  } finally {
    f.close();
  }
  return h.digest("hex");
}
