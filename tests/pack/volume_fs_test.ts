/**
 * The libc walker calls and their /proc-path fallback keep one contract:
 * the same stats, link targets, bytes and error codes, and neither follows a
 * symlink or blocks on a fifo.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { libc } from "../../src/fs/libc.ts";
import {
  AT_FDCWD,
  LibcVolumeFs,
  ProcPathVolumeFs,
  sameInode,
  type VolumeFs,
} from "../../src/pack/volume_fs.ts";

const lib = libc();

function errCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return "no error";
}

Deno.test("LibcVolumeFs and ProcPathVolumeFs agree on stats, reads, links and errors", async () => {
  assert(lib, "libc loads here (the fast walker is what production uses)");
  const dir = await Deno.makeTempDir({ prefix: "vs_vfs_" });
  try {
    Deno.writeTextFileSync(`${dir}/file`, "hello volume\n");
    Deno.chmodSync(`${dir}/file`, 0o640);
    Deno.chownSync(`${dir}/file`, 4321, 1234);
    Deno.utimeSync(`${dir}/file`, 1_600_000_000.5, 1_600_000_000.987654);
    Deno.mkdirSync(`${dir}/sub`, { mode: 0o750 });
    Deno.symlinkSync("../outside/target", `${dir}/link`);
    Deno.linkSync(`${dir}/file`, `${dir}/sub/hard`);
    // Before 1970 (Deno.utimeSync cannot set negative times).
    await new Deno.Command("touch", { args: ["-d", "@-86400.25", `${dir}/sub`] }).output();
    await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    for (const [name, at] of [["neg1", "@-1.9999999"], ["neg2", "@-0.0005"]]) {
      Deno.writeTextFileSync(`${dir}/${name}`, "");
      await new Deno.Command("touch", { args: ["-d", at, `${dir}/${name}`] }).output();
    }

    const impls: [string, VolumeFs][] = [
      ["libc", new LibcVolumeFs(lib)],
      ["proc", new ProcPathVolumeFs()],
    ];
    const seen: Record<string, unknown>[] = [];
    for (const [name, vfs] of impls) {
      const root = vfs.openDirAt(AT_FDCWD, dir);
      try {
        const file = vfs.lstatAt(root, "file");
        const fd = vfs.openFileAt(root, "file");
        const buf = new Uint8Array(64);
        const n = vfs.read(fd, buf.subarray(3));
        const opened = vfs.fstat(fd);
        vfs.close(fd);
        const sub = vfs.openDirAt(root, "sub");
        const hard = vfs.lstatAt(sub, "hard");
        vfs.close(sub);
        seen.push({
          names: vfs.list(root).sort(),
          file,
          sameOpened: sameInode(file, opened),
          sameHard: sameInode(file, hard),
          text: new TextDecoder().decode(buf.subarray(3, 3 + n)),
          eof: (() => {
            const f = vfs.openFileAt(root, "file");
            vfs.read(f, new Uint8Array(64));
            const end = vfs.read(f, new Uint8Array(64));
            vfs.close(f);
            return end;
          })(),
          sub: vfs.lstatAt(root, "sub"),
          link: { ...vfs.lstatAt(root, "link"), target: vfs.readLinkAt(root, "link") },
          fifo: vfs.lstatAt(root, "fifo").kind,
          // Sub-millisecond times before 1970 floor, like statx's seconds + ns.
          negMs: ["neg1", "neg2"].map((n) => vfs.lstatAt(root, n).mtimeMs),
          // A fifo opens without blocking (no writer) and is not a file.
          fifoOpen: (() => {
            const f = vfs.openFileAt(root, "fifo");
            const k = vfs.fstat(f).kind;
            vfs.close(f);
            return k;
          })(),
          missing: errCode(() => vfs.lstatAt(root, "nope")),
          openLink: errCode(() => vfs.openFileAt(root, "link")),
          openLinkAsDir: errCode(() => vfs.openDirAt(root, "link")),
          openFileAsDir: errCode(() => vfs.openDirAt(root, "file")),
        });
      } finally {
        vfs.close(root);
      }
      assertEquals(seen.at(-1)!.text, "hello volume\n", name);
    }
    const [a, b] = seen;
    // Deno's node stats carry no sub-millisecond part, so the fallback
    // truncates times before 1970 toward zero (a 1 ms difference, only there).
    assertEquals(b.negMs, [-1999, 0]);
    // ctime: exact through statx; the fallback reports NaN (never "unchanged").
    const noCtime = (x: unknown) =>
      JSON.parse(JSON.stringify(x, (k, v) => (k === "ctimeMs" ? undefined : v)));
    assertEquals(noCtime({ ...a, negMs: 0 }), noCtime({ ...b, negMs: 0 }));
    assert(Number.isFinite((a.file as { ctimeMs: number }).ctimeMs), "statx gives a ctime");
    const file = a.file as Record<string, unknown>;
    assertEquals(
      [file.kind, file.mode, file.uid, file.gid, file.size, file.mtimeMs, file.nlink],
      ["file", 0o640, 4321, 1234, 13, 1_600_000_000_987, 2],
    );
    assertEquals((a.sub as { mtimeMs: number }).mtimeMs, -86_400_250);
    assertEquals((a.link as { kind: string; target: string }).kind, "symlink");
    assertEquals((a.link as { target: string }).target, "../outside/target");
    assertEquals([a.sameOpened, a.sameHard, a.eof], [true, true, 0]);
    assertEquals(a.negMs, [-2000, -1]);
    assertEquals([a.fifo, a.fifoOpen], ["fifo", "fifo"]);
    assertEquals(
      [a.missing, a.openLink, a.openLinkAsDir, a.openFileAsDir],
      // O_DIRECTORY|O_NOFOLLOW on a symlink: ENOTDIR (the walker treats both as "replaced").
      ["ENOENT", "ELOOP", "ENOTDIR", "ENOTDIR"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
