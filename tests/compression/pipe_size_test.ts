import { assert, assertEquals } from "../_helpers/assert.ts";
import { growChildPipe, PIPE_BYTES } from "../../src/compression/pipe_size.ts";

Deno.test("growChildPipe enlarges both pipes of a child to 1 MiB, and refuses a non-pipe", async () => {
  const child = new Deno.Command("cat", { stdin: "piped", stdout: "piped", stderr: "null" })
    .spawn();
  try {
    assert(growChildPipe(child.pid, 0), "stdin pipe not grown");
    assert(growChildPipe(child.pid, 1), "stdout pipe not grown");
    // A full 1 MiB now fits into stdin with nobody reading: a 64 KiB pipe would block.
    const w = child.stdin.getWriter();
    const wrote = await Promise.race([
      w.write(new Uint8Array(PIPE_BYTES / 2)).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
    ]);
    if (!wrote) {
      child.kill("SIGKILL");
      await child.stdout.cancel();
      await w.abort().catch(() => {});
    }
    assert(wrote, "a 512 KiB write blocked");
    await w.close();
    let n = 0;
    for await (const c of child.stdout) n += c.length;
    assertEquals(n, PIPE_BYTES / 2);
  } finally {
    await child.status;
  }
  const devnull = new Deno.Command("sleep", { args: ["5"], stdin: "null", stdout: "null" }).spawn();
  try {
    assertEquals(growChildPipe(devnull.pid, 1), false);
  } finally {
    devnull.kill();
    await devnull.status;
  }
});
