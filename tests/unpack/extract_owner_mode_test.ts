/**
 * The extractor creates files with their final mode and skips chmod/chown
 * when the new file already matches. These cases make sure the shortcut never
 * leaves a file with the umask-reduced mode or an inherited group.
 */
import fs from "node:fs";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { extractArchive } from "../../src/unpack/extract.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { testManifest } from "../_helpers/craft_tar.ts";

assert(Deno.uid() === 0, "these tests restore owners and must run as root");

async function packTree(base: string, build: (vol: string) => void): Promise<string> {
  const pack = `${base}/pack`;
  Deno.mkdirSync(`${pack}/volumes/0`, { recursive: true });
  Deno.writeTextFileSync(`${pack}/volsnap.json`, JSON.stringify(testManifest([0])));
  build(`${pack}/volumes/0`);
  const archive = `${base}/a.tar`;
  const out = await new Deno.Command("tar", {
    args: ["--format=posix", "-C", pack, "-cf", archive, "volsnap.json", "volumes/0"],
  }).output();
  assert(out.success);
  return archive;
}

Deno.test("extract restores file modes that the process umask would reduce", async () => {
  const base = await Deno.makeTempDir({ prefix: "vs_om_" });
  const oldMask = Deno.umask(0o027);
  try {
    const modes: Record<string, number> = { rw: 0o666, rwx: 0o777, gw: 0o620, none: 0o000 };
    const archive = await packTree(base, (vol) => {
      for (const [name, mode] of Object.entries(modes)) {
        Deno.writeTextFileSync(`${vol}/${name}`, name);
        fs.chmodSync(`${vol}/${name}`, mode);
      }
    });
    const staging = `${base}/staged`;
    await extractArchive({
      sourcePath: archive,
      targetDirFor: () => staging,
      limits: DEFAULT_LIMITS,
    });
    for (const [name, mode] of Object.entries(modes)) {
      assertEquals(fs.statSync(`${staging}/${name}`).mode & 0o7777, mode, name);
      assertEquals(Deno.readTextFileSync(`${staging}/${name}`), name);
    }
  } finally {
    Deno.umask(oldMask);
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("extract below a setgid parent keeps the archive's owners, not the inherited group", async () => {
  const base = await Deno.makeTempDir({ prefix: "vs_om_" });
  try {
    const archive = await packTree(base, (vol) => {
      Deno.mkdirSync(`${vol}/sub`);
      for (const p of ["root-file", "sub/root-file"]) Deno.writeTextFileSync(`${vol}/${p}`, "r");
      Deno.writeTextFileSync(`${vol}/other`, "o");
      fs.chownSync(`${vol}/other`, 1234, 5678);
    });
    const parent = `${base}/sgid-parent`;
    Deno.mkdirSync(parent);
    fs.chownSync(parent, 0, 4242);
    fs.chmodSync(parent, 0o2775);
    const staging = `${parent}/staged`;
    await extractArchive({
      sourcePath: archive,
      targetDirFor: () => staging,
      limits: DEFAULT_LIMITS,
    });
    // During extraction the staging root had gid 4242 + setgid (inherited), so
    // new files got 4242; the archive says 0:0.
    for (const p of ["root-file", "sub/root-file"]) {
      const st = fs.statSync(`${staging}/${p}`);
      assertEquals([st.uid, st.gid], [0, 0], p);
    }
    const o = fs.statSync(`${staging}/other`);
    assertEquals([o.uid, o.gid], [1234, 5678]);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
