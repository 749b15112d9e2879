import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { AppError } from "../../src/core/errors.ts";
import { isTempName, renameDurable, syncFs, writeFileDurable } from "../../src/fs/durable.ts";

Deno.test("writeFileDurable() replaces the file whole and leaves no temp file beside it", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "state.json");
  await writeFileDurable(path, "old");
  await writeFileDurable(path, "new", 0o600);
  assertEquals(await Deno.readTextFile(path), "new");
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name);
  assertEquals(names, ["state.json"]);
  assert(!names.some(isTempName));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("renameDurable() moves a file and the old name is gone", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "a"), "x");
  await renameDurable(join(dir, "a"), join(dir, "b"));
  assertEquals(await Deno.readTextFile(join(dir, "b")), "x");
  await assertRejects(() => Deno.stat(join(dir, "a")));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("syncFs() flushes the filesystem of an existing dir and fails clearly for a missing one", async () => {
  const dir = await Deno.makeTempDir();
  await syncFs(dir);
  await assertRejects(
    () => syncFs(join(dir, "missing")),
    (e) => e instanceof AppError && e.message.includes(join(dir, "missing")),
  );
  await Deno.remove(dir, { recursive: true });
});
