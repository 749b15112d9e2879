/**
 * packVolume through each VolumeFs implementation: the libc walker and its
 * /proc-path fallback turn the same tree into the same tar bytes, and a
 * volume root that cannot be listed fails the capture instead of storing an
 * empty volume (which a restore would turn into data loss).
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { buildEdgeTree } from "../_helpers/craft_tar.ts";
import { createFrameCompressor } from "../../src/compression/compress.ts";
import { type PackStats, packVolume } from "../../src/pack/pack.ts";
import { TarSink } from "../../src/pack/pack_sink.ts";
import { libc } from "../../src/fs/libc.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import { AppError } from "../../src/core/errors.ts";
import {
  AT_FDCWD,
  LibcVolumeFs,
  ProcPathVolumeFs,
  type VolumeFs,
} from "../../src/pack/volume_fs.ts";

async function packWith(vfs: VolumeFs, dir: string) {
  const parts: Uint8Array[] = [];
  const compressor = createFrameCompressor({
    compression: "none",
    batchSize: 64 * 1024,
    output: (b) => {
      parts.push(b.slice());
      return Promise.resolve();
    },
  });
  const sink = new TarSink(compressor);
  const stats: PackStats = { fileCount: 0, skippedSpecial: 0 };
  const warnings: string[] = [];
  const root = vfs.openDirAt(AT_FDCWD, dir);
  const st = vfs.fstat(root);
  await packVolume(
    {
      index: 0,
      hostPath: dir,
      sink,
      stats,
      warn: (m) => warnings.push(m),
      vfs,
      limits: DEFAULT_LIMITS,
    },
    root,
    { uid: st.uid, gid: st.gid, mode: st.mode, mtimeMs: st.mtimeMs },
  );
  await sink.flush();
  await compressor.finish();
  const tar = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    tar.set(p, off);
    off += p.length;
  }
  return { tar, stats, warnings };
}

Deno.test("the libc walker and the /proc-path fallback write identical tar bytes", async () => {
  const lib = libc();
  assert(lib, "libc loads here");
  const dir = await Deno.makeTempDir({ prefix: "vs_pvfs_" });
  try {
    buildEdgeTree(dir);
    Deno.writeFileSync(`${dir}/two-mib.bin`, new Uint8Array(2 << 20).map((_, i) => i % 251));
    const a = await packWith(new LibcVolumeFs(lib), dir);
    const b = await packWith(new ProcPathVolumeFs(), dir);
    assert(a.stats.fileCount > 20, `fileCount ${a.stats.fileCount}`);
    assertEquals(a.stats, b.stats);
    assertEquals(a.warnings, []);
    assertEquals(b.warnings, []);
    assertEquals(a.tar.length, b.tar.length);
    assert(a.tar.every((x, i) => x === b.tar[i]), "tar bytes differ");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a symlink target that is not UTF-8: the libc walker stores its bytes, the fallback skips it with a warning", async () => {
  const lib = libc();
  assert(lib, "libc loads here");
  const dir = await Deno.makeTempDir({ prefix: "vs_pvfs_raw_" });
  try {
    const ln = await new Deno.Command("sh", {
      args: ["-c", `ln -s "$(printf 'tar\\377get')" "${dir}/bad-target"`],
    }).output();
    assert(ln.success);
    const a = await packWith(new LibcVolumeFs(lib), dir);
    assertEquals(a.warnings, []);
    const raw = [0x74, 0x61, 0x72, 0xff, 0x67, 0x65, 0x74]; // "tar\xffget"
    const at = a.tar.findIndex((_, i) => raw.every((x, k) => a.tar[i + k] === x));
    assert(at > 0, "the raw target bytes are in the archive");
    const b = await packWith(new ProcPathVolumeFs(), dir);
    assertEquals(b.warnings.length, 1, b.warnings.join("; "));
    assert(/cannot read symlink .*bad-target/.test(b.warnings[0]), b.warnings[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a volume root that cannot be listed fails the capture; a subdirectory only warns", async () => {
  const lib = libc();
  assert(lib, "libc loads here");
  const dir = await Deno.makeTempDir({ prefix: "vs_pvfs_list_" });
  try {
    Deno.mkdirSync(`${dir}/sub`);
    Deno.writeTextFileSync(`${dir}/sub/f`, "x");
    const real = new LibcVolumeFs(lib);
    let calls = 0;
    const failingList = (failOn: number): VolumeFs => ({
      list(fd) {
        if (++calls === failOn) throw new Error("EACCES: permission denied (injected)");
        return real.list(fd);
      },
      lstatAt: (fd, name) => real.lstatAt(fd, name),
      openDirAt: (fd, name) => real.openDirAt(fd, name),
      openFileAt: (fd, name) => real.openFileAt(fd, name),
      fstat: (fd) => real.fstat(fd),
      read: (fd, buf) => real.read(fd, buf),
      readLinkAt: (fd, name) => real.readLinkAt(fd, name),
      close: (fd) => real.close(fd),
      xattrs: (fd, dev, dirFd, name) => real.xattrs(fd, dev, dirFd, name),
      dataMap: (fd, size) => real.dataMap(fd, size),
      seek: (fd, off) => real.seek(fd, off),
    });
    calls = 0;
    const err = await packWith(failingList(1), dir).catch((e) => e);
    assert(err instanceof AppError, String(err));
    assert(/cannot list volume directory/.test(err.message), err.message);
    calls = 0;
    const sub = await packWith(failingList(2), dir);
    assertEquals(sub.warnings.length, 1);
    assert(/cannot list directory .*sub: .*stored empty/.test(sub.warnings[0]), sub.warnings[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
