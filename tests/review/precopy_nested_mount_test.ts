/**
 * Review of the pre-copy's file system check (src/pack/live_copy.ts
 * `liveCopyUnsupported`): only the volume ROOT's file system is checked, and
 * the walk goes on into file systems mounted below it (a bind-mounted host
 * dir with a tmpfs, NFS or FUSE mount inside, say). A file there is read by
 * the pre-copy and recorded as reusable like any other, although that file
 * system is exactly the kind the check is there to refuse: on tmpfs a write
 * through a shared mapping sets no time stamp and sync_file_range
 * write-protects nothing, so the pass with the app stopped takes the
 * pre-copy's stale copy. Needs root (mount).
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { lineChild, precopy, sleep, stoppedPass } from "./precopy_helpers.ts";

const MMAP_WRITER = `
import mmap, sys
f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 0)
m[0:8] = b"AAAAAAAA"
sys.stdout.write("dirty\\n"); sys.stdout.flush()
sys.stdin.readline()
m[8:16] = b"BBBBBBBB"
sys.stdout.write("again\\n"); sys.stdout.flush()
sys.stdin.readline()
`;

async function run(cmd: string, args: string[]) {
  const r = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!r.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(r.stderr)}`);
}

Deno.test("review: a file system mounted inside the volume is not pre-copied as reusable", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_review_nested_" });
  const src = join(tmp, "src");
  const cache = join(src, "cache");
  await Deno.mkdir(cache, { recursive: true });
  await Deno.writeFile(join(src, "on-root"), pseudoRandom(5000, 1));
  await run("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", cache]);
  let app: ReturnType<typeof lineChild> | undefined;
  try {
    await Deno.writeFile(join(cache, "data"), pseudoRandom(64 * 1024, 2));
    app = lineChild("python3", ["-c", MMAP_WRITER, join(cache, "data")]);
    assertEquals(await app.line(), "dirty");
    await sleep(150);
    const store = await FrameStore.open(join(tmp, "store"));
    const pre = await precopy(store, src, tmp, "s1");
    // The app writes on through its mapping until it is stopped.
    await app.send("go");
    assertEquals(await app.line(), "again");
    await stoppedPass(store, src, tmp, "s1", pre);
  } finally {
    await app?.close();
    await run("umount", [cache]).catch(() => {});
    await Deno.remove(tmp, { recursive: true });
  }
});
