/** GET /metrics: Prometheus text (SPEC §12); bearer token unless VOLSNAP_METRICS_PUBLIC=true. */
import { apiRouter, COMMON_ERRORS, createRoute, type OpenAPIHono, register } from "./openapi.ts";
import { z } from "zod";
import { checkBearer } from "../src/auth/token.ts";
import type { OpsDeps } from "./ops_deps.ts";

export function metricsRoutes(
  deps: { ops: Pick<OpsDeps, "metrics" | "metricsPublic">; token: string },
): OpenAPIHono {
  const app = apiRouter();
  register(
    app,
    createRoute({
      method: "get",
      path: "/metrics",
      summary: "Prometheus text (bearer token unless VOLSNAP_METRICS_PUBLIC=true)",
      responses: {
        200: {
          description: "Prometheus text format 0.0.4",
          content: { "text/plain": { schema: z.string() } },
        },
        401: COMMON_ERRORS[401],
      },
    }),
    async (c) => {
      if (!deps.ops.metricsPublic) checkBearer(c.req.header("Authorization"), deps.token);
      const text = await deps.ops.metrics();
      return c.body(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    },
  );
  return app;
}
