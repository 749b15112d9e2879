/** GET /api/v1/schedules: every schedule with its next and last run (SPEC §10). */
import {
  apiRouter,
  COMMON_ERRORS,
  createRoute,
  json,
  type OpenAPIHono,
  register,
} from "./openapi.ts";
import type { OpsDeps } from "./ops_deps.ts";

export function scheduleRoutes(deps: { ops: Pick<OpsDeps, "schedules"> }): OpenAPIHono {
  const app = apiRouter();
  register(
    app,
    createRoute({
      method: "get",
      path: "/",
      summary: "schedules with next and last run",
      responses: { 200: json("schedules"), ...COMMON_ERRORS },
    }),
    async (c) => {
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
    },
  );
  return app;
}
