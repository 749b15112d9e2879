/** A createApp() over a FakeEngine and a real catalog in a temp libsql file. */
import { openCatalogDb } from "../../db/client.ts";
import { Catalog } from "../../db/catalog.ts";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/log.ts";
import { OperationRunner } from "../../src/operations/runner.ts";
import { createApp } from "../../routes/app.ts";
import { FakeEngine } from "./fake_engine.ts";
import { AppError } from "../../src/core/errors.ts";
import { createMetrics } from "../../src/metrics/collect.ts";
import { lastVerifiedRestorable, scheduleStore, setPinned } from "../../db/ops_store.ts";
import type { OpsDeps } from "../../routes/ops_deps.ts";

export const TEST_TOKEN = "test-token-0123456789abcdef";

export async function makeHarness() {
  const dir = await Deno.makeTempDir({ prefix: "volsnap-routes-" });
  const { db, close } = await openCatalogDb(`file:${dir}/catalog.db`);
  const catalog = new Catalog(db, "h_test");
  const engine = new FakeEngine();
  const runner = new OperationRunner(catalog, systemClock, silentLogger);
  const logged: string[] = [];
  const log = {
    info() {},
    warn() {},
    error(msg: string, fields?: Record<string, unknown>) {
      logged.push(JSON.stringify({ msg, ...fields }));
    },
    child() {
      return log;
    },
  };
  const metrics = createMetrics({ catalog, version: "9.9.9" });
  const ops: OpsDeps = {
    schedules: () => scheduleStore(catalog).list(),
    prepareDrill: () => Promise.reject(new AppError("not_found", "drills need the real engine")),
    async setPinned(sid, pinned) {
      await engine.getSnapshot(sid);
      await setPinned(catalog, sid, pinned);
    },
    lastVerifiedRestorable: (wid) => lastVerifiedRestorable(catalog, wid),
    metrics: () => metrics.render(),
    metricsPublic: false,
  };
  const app = createApp({ engine, runner, catalog, token: TEST_TOKEN, log, version: "9.9.9", ops });
  const request = (path: string, init: RequestInit = {}, token: string | null = TEST_TOKEN) => {
    const headers = new Headers(init.headers);
    if (token !== null) headers.set("Authorization", `Bearer ${token}`);
    return app.request(path, { ...init, headers });
  };
  return {
    dir,
    app,
    engine,
    catalog,
    runner,
    logged,
    request,
    async close() {
      await runner.settle(5000);
      close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
