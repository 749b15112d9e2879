import { assert, assertEquals, assertRejects } from "../_fakes/assert.ts";
import { openCatalogDb } from "../../db/client.ts";
import { Catalog } from "../../db/catalog.ts";
import { systemClock } from "../../src/core/clock.ts";
import { AppError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/log.ts";
import { OperationRunner } from "../../src/operations/runner.ts";
import { fakeOp } from "../_fakes/fake_engine.ts";

async function withRunner(fn: (r: OperationRunner, c: Catalog) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const { db, close } = await openCatalogDb(`file:${dir}/c.db`);
  const catalog = new Catalog(db, "h_test");
  const runner = new OperationRunner(catalog, systemClock, silentLogger);
  try {
    await fn(runner, catalog);
  } finally {
    await runner.settle(5000);
    close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("progress is visible live at once and reaches the catalog throttled", async () => {
  await withRunner(async (runner, catalog) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => release = r);
    const { id, done } = runner.start(fakeOp("capture", async (ctx) => {
      ctx.progress({ phase: "archiving", bytesDone: 10, bytesTotal: 100 });
      ctx.progress({ bytesDone: 20 });
      await gate;
      return { ok: 1 };
    }, { workload: "app" }));
    assert(/^op_[0-9a-f]{16}$/.test(id));
    await new Promise((r) => setTimeout(r, 50));
    const live = await runner.get(id);
    assertEquals([live?.state, live?.phase, live?.bytesDone, live?.bytesTotal], [
      "running",
      "archiving",
      20,
      100,
    ]);
    // Not written yet: the throttle holds progress writes to one per second.
    assertEquals((await catalog.getOperation(id))?.bytesDone, 0);
    await new Promise((r) => setTimeout(r, 1100));
    assertEquals((await catalog.getOperation(id))?.bytesDone, 20);
    release();
    assertEquals(await done, { ok: 1 });
    const row = await catalog.getOperation(id);
    assertEquals(row?.state, "succeeded");
    assertEquals(row?.result, { ok: 1 });
    assert(row?.finishedAt);
    assertEquals((await runner.get(id))?.state, "succeeded");
  });
});

Deno.test("a failure records code and message; unknown errors become internal without stack", async () => {
  await withRunner(async (runner, catalog) => {
    const a = runner.start(fakeOp("restore", () =>
      Promise.reject(
        new AppError("insufficient_space", "need 3 GiB on /var"),
      )));
    await assertRejects(() => a.done);
    assertEquals((await catalog.getOperation(a.id))?.error, {
      code: "insufficient_space",
      message: "need 3 GiB on /var",
    });
    const b = runner.start(fakeOp("verify", () => Promise.reject(new RangeError("boom"))));
    await assertRejects(() => b.done);
    const row = await catalog.getOperation(b.id);
    assertEquals(row?.state, "failed");
    assertEquals(row?.error, { code: "internal", message: "boom" });
    assert(!JSON.stringify(row).includes("at "), "no stack frames stored");
  });
});

Deno.test("an unawaited failing operation does not crash the process", async () => {
  await withRunner(async (runner) => {
    const { id } = runner.start(fakeOp("capture", () => Promise.reject(new Error("nobody waits"))));
    assert(await runner.settle(2000));
    assertEquals((await runner.get(id))?.state, "failed");
    assertEquals(runner.running, 0);
  });
});
