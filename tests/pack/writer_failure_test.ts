/**
 * On abort, ENOSPC or a bad source, writeSnapshotArchive rethrows and leaves
 * neither the final file nor a temp file behind.
 */
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { writeSnapshotArchive } from "../../src/pack/writer.ts";
import { isNoSpace } from "../../src/core/errors.ts";
import { draft, run } from "./writer_helpers.ts";

const MiB = 1024 * 1024;

function randomFile(path: string, n: number) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  Deno.writeFileSync(path, b);
}

async function withVolume(fn: (base: string, vol: string) => Promise<void>) {
  const base = await Deno.makeTempDir({ prefix: "vs_wfail_" });
  try {
    const vol = `${base}/vol`;
    Deno.mkdirSync(vol);
    for (let i = 0; i < 3; i++) randomFile(`${vol}/r${i}.bin`, 3 * MiB);
    await fn(base, vol);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

const abortCases = [
  { compression: "zstd", zstdEngine: "cli" },
  { compression: "zstd", zstdEngine: "node" },
  { compression: "gzip" },
  { compression: "none" },
] as const;
for (const { compression, ...rest } of abortCases) {
  const engine = "zstdEngine" in rest ? rest.zstdEngine : undefined;
  Deno.test(`writeSnapshotArchive (${compression}${engine ? "/" + engine : ""}) aborted midway leaves no file behind`, async () => {
    await withVolume(async (base, vol) => {
      const out = `${base}/out`;
      Deno.mkdirSync(out);
      const ac = new AbortController();
      let progressed = false;
      const err = await assertRejects(() =>
        writeSnapshotArchive({
          finalPath: `${out}/s.tar.x`,
          manifest: draft(),
          sources: [{ index: 0, hostPath: vol }],
          compression,
          zstdEngine: engine,
          signal: ac.signal,
          onProgress: () => {
            progressed = true;
            ac.abort();
          },
        })
      );
      assert(progressed, "aborted after some data was written");
      assertEquals((err as Error).name, "AbortError");
      assertEquals([...Deno.readDirSync(out)], []);
    });
  });
}

Deno.test("writeSnapshotArchive on a full filesystem fails with ENOSPC and leaves no file behind", async () => {
  await withVolume(async (base, vol) => {
    const small = `${base}/small`;
    Deno.mkdirSync(small);
    await run("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", small]);
    try {
      const err = await assertRejects(() =>
        writeSnapshotArchive({
          finalPath: `${small}/s.tar.zst`,
          manifest: draft(),
          sources: [{ index: 0, hostPath: vol }],
          compression: "zstd", // random data: about 9 MiB either way
        })
      );
      assert(isNoSpace(err), `not an ENOSPC error: ${err}`);
      assert(/ENOSPC/.test((err as Error).message), (err as Error).message);
      assertEquals([...Deno.readDirSync(small)], []);
    } finally {
      await run("umount", [small]);
    }
  });
});

Deno.test("writeSnapshotArchive refuses a missing volume directory before creating any file", async () => {
  await withVolume(async (base) => {
    const out = `${base}/out`;
    Deno.mkdirSync(out);
    const err = await assertRejects(() =>
      writeSnapshotArchive({
        finalPath: `${out}/s.tar`,
        manifest: draft(),
        sources: [{ index: 0, hostPath: `${base}/does-not-exist` }],
        compression: "none",
      })
    );
    assert(/does-not-exist/.test((err as Error).message), String(err));
    assertEquals([...Deno.readDirSync(out)], []);
  });
});

Deno.test("writeSnapshotArchive refuses a volume root that is a symlink", async () => {
  await withVolume(async (base, vol) => {
    Deno.symlinkSync(vol, `${base}/link`);
    await assertRejects(() =>
      writeSnapshotArchive({
        finalPath: `${base}/s.tar`,
        manifest: draft(),
        sources: [{ index: 0, hostPath: `${base}/link` }],
        compression: "none",
      })
    );
    assert(
      !Deno.readDirSync(base).some((e) =>
        e.name.startsWith("s.tar") || e.name.includes(".volsnap-tmp")
      ),
    );
  });
});
