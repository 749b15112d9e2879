/** GET /api/v1/schedules: every schedule with its next and last run (SPEC §10). */
import { Hono } from "hono";
import type { OpsDeps } from "./ops_deps.ts";

export function scheduleRoutes(deps: { ops: Pick<OpsDeps, "schedules"> }): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const rows = await deps.ops.schedules();
    return c.json({
      schedules: rows.map((s) => ({
        workload: s.workload,
        expression: s.expression,
        kind: s.kind,
        nextRunAt: s.nextRunAt,
        lastRunAt: s.lastRunAt,
        lastResult: s.lastResult,
      })),
    });
  });
  return app;
}
