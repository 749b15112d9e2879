/** zstdFrameChecksummed decides whether restore staging must hash an archive again. */
import { assertEquals } from "../_helpers/assert.ts";
import { zstdFrameChecksummed } from "../../src/compression/decompress.ts";

Deno.test("zstdFrameChecksummed is true only for a zstd frame with a content checksum", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vs_zck_" });
  try {
    await Deno.writeTextFile(`${dir}/plain`, "x".repeat(10_000));
    const cases: [string, string, boolean][] = [
      ["zstd --check", `zstd -q -3 --check -c ${dir}/plain > ${dir}/a`, true],
      ["zstd --no-check", `zstd -q -3 --no-check -c ${dir}/plain > ${dir}/a`, false],
      ["zstd -T0 (the capture's defaults)", `zstd -q -3 -T0 -c ${dir}/plain > ${dir}/a`, true],
      ["gzip", `gzip -c ${dir}/plain > ${dir}/a`, false],
      ["uncompressed", `cp ${dir}/plain ${dir}/a`, false],
      ["empty file", `: > ${dir}/a`, false],
    ];
    for (const [what, cmd, expected] of cases) {
      const out = await new Deno.Command("sh", { args: ["-c", cmd] }).output();
      assertEquals(out.success, true, what);
      assertEquals(await zstdFrameChecksummed(`${dir}/a`), expected, what);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
