/**
 * Files that change or vanish while the archive is written produce warnings,
 * and the archive stays well-formed (GNU tar extracts it; sizes as declared).
 * The changes are made from onProgress, which runs while a big file is read.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { writeSnapshotArchive } from "../../src/pack/writer.ts";
import { captureDir, draft, run } from "./writer_helpers.ts";

const MiB = 1024 * 1024;

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

/**
 * "a_big.bin" sorts first: the first flush (onProgress) comes after its
 * header is written with the size lstat saw, and before its data is read
 * (spliced) — the window in which a file changes under a running app.
 */
async function withVolume(
  fn: (base: string, vol: string) => Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "vs_wchg_" });
  try {
    const vol = `${base}/vol`;
    Deno.mkdirSync(vol);
    Deno.writeFileSync(`${vol}/a_big.bin`, randomBytes(12 * MiB));
    Deno.writeTextFileSync(`${vol}/m_stable.txt`, "stable\n");
    Deno.writeTextFileSync(`${vol}/z_vanish.txt`, "about to go\n");
    await fn(base, vol);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

async function extract(archive: string, dest: string): Promise<void> {
  Deno.mkdirSync(dest);
  await run("tar", ["-xpf", archive, "--numeric-owner", "-C", dest]);
}

Deno.test("writeSnapshotArchive warns about a file that shrank or vanished and pads to the declared size", async () => {
  await withVolume(async (base, vol) => {
    let mutated = false;
    const warnings: string[] = [];
    const { stats } = await writeSnapshotArchive({
      finalPath: `${base}/s.tar.zst`,
      manifest: draft(),
      sources: [{ index: 0, hostPath: vol }],
      compression: "zstd",
      onWarning: (m) => warnings.push(m),
      onProgress: () => {
        if (mutated) return;
        mutated = true;
        Deno.truncateSync(`${vol}/a_big.bin`, 1 * MiB);
        Deno.removeSync(`${vol}/z_vanish.txt`);
      },
    });
    assert(mutated, "onProgress ran during the capture");
    assertEquals(stats.warnings, warnings);
    assert(warnings.some((w) => /shrank.*a_big\.bin/.test(w)), warnings.join("; "));
    assert(warnings.some((w) => /vanished.*z_vanish\.txt/.test(w)), warnings.join("; "));
    assertEquals(warnings.length, 2);

    const dest = `${base}/out`;
    await extract(`${base}/s.tar.zst`, dest);
    assertEquals(Deno.statSync(`${dest}/volumes/0/a_big.bin`).size, 12 * MiB);
    assertEquals(Deno.readTextFileSync(`${dest}/volumes/0/m_stable.txt`), "stable\n");
  });
});

Deno.test("writeSnapshotArchive warns about a file that grew while read and stores the declared size", async () => {
  await withVolume(async (base, vol) => {
    let mutated = false;
    const warnings: string[] = [];
    await writeSnapshotArchive({
      finalPath: `${base}/s.tar`,
      manifest: draft(),
      sources: [{ index: 0, hostPath: vol }],
      compression: "none",
      onWarning: (m) => warnings.push(m),
      onProgress: () => {
        if (mutated) return;
        mutated = true;
        const f = Deno.openSync(`${vol}/a_big.bin`, { append: true });
        f.writeSync(randomBytes(MiB));
        f.close();
      },
    });
    assert(mutated);
    assertEquals(warnings.length, 1, warnings.join("; "));
    assert(/changed while reading: .*a_big\.bin/.test(warnings[0]), warnings[0]);
    const dest = `${base}/out`;
    await extract(`${base}/s.tar`, dest);
    assertEquals(Deno.statSync(`${dest}/volumes/0/a_big.bin`).size, 12 * MiB);
  });
});

Deno.test("writeSnapshotArchive stores a directory swapped for a symlink mid-capture as a link, never following it", async () => {
  await withVolume(async (base, vol) => {
    Deno.mkdirSync(`${vol}/n_dir`);
    Deno.writeTextFileSync(`${vol}/n_dir/inside.txt`, "x");
    let mutated = false;
    const warnings: string[] = [];
    await writeSnapshotArchive({
      finalPath: `${base}/s.tar.gz`,
      manifest: draft(),
      sources: [{ index: 0, hostPath: vol }],
      compression: "gzip",
      onWarning: (m) => warnings.push(m),
      onProgress: () => {
        if (mutated) return;
        mutated = true; // n_dir was listed already, not yet visited
        Deno.removeSync(`${vol}/n_dir`, { recursive: true });
        Deno.symlinkSync("/etc", `${vol}/n_dir`);
      },
    });
    assert(mutated);
    assertEquals(warnings, []);
    const listing = await run("tar", ["-tvzf", `${base}/s.tar.gz`]);
    assert(listing.includes("volumes/0/n_dir -> /etc"), listing);
    assert(!listing.includes("volumes/0/n_dir/"), listing);
    assert(listing.includes("volumes/0/m_stable.txt"), listing);
  });
});

Deno.test("writeSnapshotArchive lists at most 1000 warnings and summarises the rest", async () => {
  await withVolume(async (base, vol) => {
    // Listed with the root (before a_big.bin is read), gone when visited.
    const many = Array.from({ length: 1100 }, (_, i) => `${vol}/z_${String(i).padStart(4, "0")}`);
    for (const p of many) Deno.writeTextFileSync(p, "x");
    let mutated = false;
    const seen: string[] = [];
    const { stats } = await writeSnapshotArchive({
      finalPath: `${base}/s.tar`,
      manifest: draft(),
      sources: [{ index: 0, hostPath: vol }],
      compression: "none",
      onWarning: (m) => seen.push(m),
      onProgress: () => {
        if (mutated) return;
        mutated = true;
        for (const p of many) Deno.removeSync(p);
      },
    });
    assert(mutated);
    assertEquals(stats.warnings.length, 1001);
    assertEquals(stats.warnings[1000], "100 more warnings like the above were not listed");
    assertEquals(seen, stats.warnings);
  });
});

Deno.test("names that are not UTF-8 are archived byte for byte, never twice or under another file's name", async () => {
  const base = await Deno.makeTempDir({ prefix: "vs_wutf_" });
  try {
    const vol = `${base}/vol`;
    Deno.mkdirSync(vol);
    // "a" + U+FFFD (valid UTF-8), "a" + 0xff and "b" + 0xfe (not UTF-8): Deno lists
    // the first two under the same name.
    const made = await new Deno.Command("sh", {
      args: [
        "-c",
        `printf valid > "$0/a$(printf '\\357\\277\\275')"; printf x > "$0/a$(printf '\\377')"; ` +
        `printf y > "$0/b$(printf '\\376')"`,
        vol,
      ],
    }).output();
    assert(made.success);
    const finalPath = `${base}/s.tar.zst`;
    const { stats } = await captureDir(vol, finalPath);
    assertEquals(stats.warnings, []);
    assertEquals(stats.fileCount, 4);
    const dest = `${base}/out`;
    await extract(finalPath, dest);
    // Names and contents as raw bytes, as GNU tar extracted them.
    const listing = await new Deno.Command("sh", {
      args: [
        "-c",
        `cd "$0" && for f in *; do printf '%s=' "$f"; cat "$f"; echo; done`,
        `${dest}/volumes/0`,
      ],
      stdout: "piped",
    }).output();
    assertEquals(
      [...listing.stdout],
      [
        ...new TextEncoder().encode("a\uFFFD=valid\n"),
        0x61,
        0xff,
        0x3d,
        0x78,
        0x0a,
        0x62,
        0xfe,
        0x3d,
        0x79,
        0x0a,
      ],
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
