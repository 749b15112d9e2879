/** GET /metrics: Prometheus text (SPEC §12); bearer token unless VOLSNAP_METRICS_PUBLIC=true. */
import { Hono } from "hono";
import { checkBearer } from "../src/auth/token.ts";
import type { OpsDeps } from "./ops_deps.ts";

export function metricsRoutes(
  deps: { ops: Pick<OpsDeps, "metrics" | "metricsPublic">; token: string },
): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => {
    if (!deps.ops.metricsPublic) checkBearer(c.req.header("Authorization"), deps.token);
    const text = await deps.ops.metrics();
    return c.body(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
  return app;
}
