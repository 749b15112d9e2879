/**
 * Where libc/FFI is unavailable (ProcPathVolumeFs), ctimeMs is NaN. Such
 * files are not recorded for reuse (they could never be "unchanged"), and a
 * frame list never holds a non-finite number (JSON would turn it into null
 * and the list would not parse: the snapshot just captured unreadable).
 * The fallback is chosen when libc cannot be dlopen'ed (or statx is refused by
 * an old seccomp profile); here dlopen is made to fail before first use.
 */
import { join } from "node:path";
// Simulate a host where libc.so.6 cannot be loaded (musl image, seccomp, …).
(Deno as unknown as { dlopen: () => never }).dlopen = () => {
  throw new Error("no libc here");
};
import { assert } from "../_helpers/assert.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { volumeFs } from "../../src/pack/volume_fs.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";
import { framedCapture } from "../frames/frames_helpers.ts";

Deno.test("a framed capture through the fallback file system calls stays readable", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_rev_" });
  try {
    const src = join(tmp, "src");
    await Deno.mkdir(src);
    await Deno.writeFile(join(src, "a.txt"), new TextEncoder().encode("hello"));
    console.log("vfs:", volumeFs().constructor.name);
    const store = await FrameStore.open(join(tmp, "store"));
    let err: unknown;
    try {
      await framedCapture(store, src, tmp, "s1");
    } catch (e) {
      err = e;
    }
    assert(!err, `capture finalized, but its frame list cannot be read: ${err}`);
    await readFramedSnapshot(join(tmp, "s1.frames"));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
