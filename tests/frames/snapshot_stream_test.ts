import { assertEquals, assertRejects } from "../_helpers/assert.ts";
import { join } from "node:path";
import { openSnapshotStream } from "../../src/frames/snapshot_stream.ts";
import { AppError } from "../../src/core/errors.ts";

Deno.test("openSnapshotStream() yields a single-file archive with its size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "volsnap_stream_" });
  try {
    await Deno.mkdir(join(dir, "w"));
    const bytes = crypto.getRandomValues(new Uint8Array(60_000));
    await Deno.writeFile(join(dir, "w", "s1.tar.zst"), bytes);
    const s = await openSnapshotStream({ paths: { root: dir, archives: dir } }, {
      id: "s1",
      file: "w/s1.tar.zst",
    });
    assertEquals(s.size, bytes.length);
    assertEquals(new Uint8Array(await new Response(s.stream).arrayBuffer()), bytes);
    await assertRejects(
      () =>
        openSnapshotStream({ paths: { root: dir, archives: dir } }, {
          id: "s2",
          file: "w/s2.tar.zst",
        }),
      (e) => e instanceof AppError && e.message.includes("archive file of snapshot s2"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
