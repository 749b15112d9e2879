import { join } from "node:path";
import { assertRejects } from "../_helpers/assert.ts";
import { acquireProcessLock } from "../../src/locks/process_lock.ts";
import { AppError } from "../../src/core/errors.ts";

Deno.test("acquireProcessLock() refuses a second holder of the same data dir, naming its pid, and frees on close", async () => {
  const dir = await Deno.makeTempDir();
  const first = await acquireProcessLock(join(dir, "daemon.lock"));
  await assertRejects(
    () => acquireProcessLock(join(dir, "daemon.lock")),
    (e) =>
      e instanceof AppError && /another volsnap process/.test(e.message) &&
      e.message.includes(`pid ${Deno.pid}`),
  );
  first.close();
  (await acquireProcessLock(join(dir, "daemon.lock"))).close();
});
