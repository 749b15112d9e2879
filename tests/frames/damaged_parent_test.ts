/**
 * A parent whose frames cannot be read (a damaged pack) never blocks
 * captures: the incremental capture that needs them captures in full, says
 * why on the snapshot, and that snapshot streams whole.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { pseudoRandom, volumeMountpoint } from "../_helpers/fixtures.ts";
import { sha256Hex, streamBytes } from "./frames_helpers.ts";
import { FrameStore } from "../../src/frames/store.ts";

Deno.test("an unreadable parent frame makes the incremental capture a full one, recorded", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-dmg");
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    await scratch.container({
      name: "a",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    const dir = await volumeMountpoint(vol);
    for (let i = 0; i < 400; i++) await Deno.writeFile(join(dir, `f${i}`), pseudoRandom(3000, i));
    const first = await runOp(await env.engine.prepareCapture(wid, { quiesce: "stop" }));
    // Damage every pack byte after the first frames: the small files' groups.
    const packs = join(env.config.dataDir, "frames", "packs");
    for (const e of Deno.readDirSync(packs)) {
      if (!e.name.endsWith(".pack")) continue;
      const p = join(packs, e.name);
      const b = await Deno.readFile(p);
      for (let i = 4096; i < b.length; i += 97) b[i] ^= 0xff;
      await Deno.writeFile(p, b);
    }
    // One file changed: its group must be rebuilt from the parent's frame.
    await Deno.writeFile(join(dir, "f200"), pseudoRandom(3100, 999));
    const second = await runOp(await env.engine.prepareCapture(wid, { quiesce: "stop" }));
    assert(second.parentId === null, "not incremental");
    assert(/damaged/.test(second.fullReason ?? ""), `fullReason: ${second.fullReason}`);
    assert(second.id !== first.id);
    const { stream } = await env.engine.openArchive(second.id);
    const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    assertEquals(await sha256Hex(bytes), second.sha256);
    const tar = new Deno.Command("sh", {
      args: ["-c", "zstd -dc | tar -tf - | wc -l"],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = tar.stdin.getWriter();
    await w.write(bytes);
    await w.close();
    const listed = Number(new TextDecoder().decode((await tar.output()).stdout).trim());
    assert(listed >= 402, `GNU tar lists ${listed} entries`);
    // A restart loads the store afresh: the new copies still win over the damaged ones.
    const reopened = await FrameStore.open(join(env.config.dataDir, "frames"));
    const again = await streamBytes(reopened, join(env.config.dataDir, "archives", second.file));
    assertEquals(await sha256Hex(again), second.sha256);
  } finally {
    await scratch.cleanup();
    env.close();
  }
});
