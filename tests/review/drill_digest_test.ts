/**
 * The drill (src/drill/drill.ts) extracts a snapshot with extractArchive
 * (keepPrivileges) and compares treeDigest of the extraction with the digest
 * the capture recorded while packing. Any tree where the two differ is a
 * false drill failure on a healthy snapshot.
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { treeDigest } from "../../src/drill/digest.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { framedCapture, streamBytes } from "../frames/frames_helpers.ts";

async function drillLike(make: (src: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "volsnap-rev-drill-" });
  try {
    const src = join(dir, "src");
    await Deno.mkdir(src);
    await make(src);
    const store = await FrameStore.open(join(dir, "store"));
    const snap = await framedCapture(store, src, dir, "s1");
    const bytes = await streamBytes(store, snap.path);
    const out = join(dir, "out");
    await Deno.mkdir(out);
    // As runDrill does (it keeps setuid/setgid bits: the digest holds them).
    await extractArchive({
      source: ReadableStream.from([bytes]),
      targetDirFor: (i) => join(out, String(i)),
      limits: DEFAULT_LIMITS,
      keepPrivileges: true,
    });
    assertEquals(await treeDigest(join(out, "0")), snap.stats.contentDigest["0"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("drill digest: a setuid file", async () => {
  await drillLike(async (src) => {
    await Deno.writeTextFile(join(src, "tool"), "#!/bin/sh\n");
    await Deno.chmod(join(src, "tool"), 0o4755);
  });
});

Deno.test("drill digest: a file whose name is not UTF-8", async () => {
  await drillLike(async (src) => {
    const r = await new Deno.Command("sh", {
      args: ["-c", `printf x > "${src}/$(printf 'n\\377')"`],
    })
      .output();
    if (!r.success) throw new Error("could not create the file");
  });
});
