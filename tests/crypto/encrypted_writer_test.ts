/**
 * VOLSNAP_ENCRYPT_LOCAL's writer (pack/writer.ts `encryptFor`): the file is
 * what Debian's age decrypts, and the recorded sha256 and size are those of
 * the plain archive, byte for byte the archive an unencrypted capture of the
 * same tree writes; through the zstd → hash worker → age relay (zstd CLI) and
 * through the event-loop path (node zstd). A failing age or an abort leaves no
 * file, no child and no open resource behind (the test sanitizers check).
 */
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { AppError } from "../../src/core/errors.ts";
import { captureDir } from "../pack/writer_helpers.ts";
import { ageKey } from "../remote/remote_helpers.ts";

const MiB = 1 << 20;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function withTree(fn: (base: string, vol: string) => Promise<void>) {
  const base = await Deno.makeTempDir({ prefix: "vs_encw_" });
  try {
    const vol = `${base}/vol`;
    Deno.mkdirSync(vol);
    const rnd = new Uint8Array(6 * MiB);
    for (let i = 0; i < rnd.length; i += 65536) crypto.getRandomValues(rnd.subarray(i, i + 65536));
    Deno.writeFileSync(`${vol}/random.bin`, rnd); // more than the pipes hold: the relay loops
    Deno.writeFileSync(`${vol}/text.txt`, new TextEncoder().encode("volsnap\n".repeat(300_000)));
    for (let i = 0; i < 200; i++) Deno.writeTextFileSync(`${vol}/small-${i}.txt`, `file ${i}\n`);
    Deno.mkdirSync(`${base}/out`);
    await fn(base, vol);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

async function decrypt(path: string, identityFile: string): Promise<Uint8Array> {
  const out = await new Deno.Command("age", {
    args: ["-d", "-i", identityFile, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

for (const zstdEngine of ["cli", "node"] as const) {
  Deno.test(`encrypted archive (${zstdEngine} zstd): age reads it; sha256 and size are the plain archive's`, async () => {
    const key = await ageKey();
    try {
      await withTree(async (base, vol) => {
        const plainPath = `${base}/out/s.tar.zst`;
        const encPath = `${base}/out/s.tar.zst.age`;
        const plain = await captureDir(vol, plainPath, { zstdEngine });
        const enc = await captureDir(vol, encPath, { zstdEngine, encryptFor: [key.recipient] });

        const ciphertext = await Deno.readFile(encPath);
        assertEquals(new TextDecoder().decode(ciphertext.subarray(0, 21)), "age-encryption.org/v1");
        const decrypted = await decrypt(encPath, key.identityFile);
        assertEquals(decrypted.length, enc.stats.sizeBytes);
        assertEquals(await sha256Hex(decrypted), enc.stats.sha256);
        // The same tree, the same archive: encryption changes nothing but the file.
        assertEquals(enc.stats.sha256, plain.stats.sha256);
        assertEquals(enc.stats.sizeBytes, plain.stats.sizeBytes);
        assertEquals(await sha256Hex(await Deno.readFile(plainPath)), plain.stats.sha256);
        assert(ciphertext.length > enc.stats.sizeBytes, "the age file holds the whole archive");
      });
    } finally {
      await Deno.remove(key.identityFile.replace(/\/key\.txt$/, ""), { recursive: true });
    }
  });
}

Deno.test("encrypted archive: age failing fails the capture with age's reason, leaves no file", async () => {
  await withTree(async (base, vol) => {
    const err = await assertRejects(() =>
      captureDir(vol, `${base}/out/s.tar.zst.age`, { zstdEngine: "cli", encryptFor: ["age1nope"] })
    );
    assert(err instanceof AppError, String(err));
    assert(/age could not encrypt/.test(err.message), err.message);
    assertEquals([...Deno.readDirSync(`${base}/out`)].map((e) => e.name), []);
  });
});

Deno.test("encrypted archive: an abort midway leaves no file", async () => {
  const key = await ageKey();
  try {
    await withTree(async (base, vol) => {
      const ac = new AbortController();
      await assertRejects(() =>
        captureDir(vol, `${base}/out/s.tar.zst.age`, {
          zstdEngine: "cli",
          encryptFor: [key.recipient],
          signal: ac.signal,
          onProgress: (done) => done > 0 && ac.abort(),
        })
      );
      assert(ac.signal.aborted, "the capture got far enough to be aborted");
      assertEquals([...Deno.readDirSync(`${base}/out`)].map((e) => e.name), []);
    });
  } finally {
    await Deno.remove(key.identityFile.replace(/\/key\.txt$/, ""), { recursive: true });
  }
});
