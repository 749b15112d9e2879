/** GET /healthz: no auth; says whether volsnap and its Docker engine answer. */
import { apiRouter, createRoute, json, type OpenAPIHono, register } from "./openapi.ts";
import type { Engine } from "../src/engine/types.ts";
import type { Logger } from "../src/core/log.ts";
import { errMessage } from "../src/core/errors.ts";

export function healthRoutes(deps: { engine: Engine; log: Logger; version: string }): OpenAPIHono {
  const app = apiRouter();
  register(
    app,
    createRoute({
      method: "get",
      path: "/healthz",
      summary: "no auth; version, Docker reachable",
      responses: { 200: json("status") },
    }),
    async (c) => {
      let docker: { reachable: boolean; version: string | null } = {
        reachable: false,
        version: null,
      };
      try {
        const h = await deps.engine.health();
        docker = { reachable: h.docker, version: h.dockerVersion ?? null };
      } catch (err) {
        deps.log.warn("health check failed", { error: errMessage(err) });
      }
      // 200 either way: volsnap itself is up; restarting it would not bring Docker back.
      return c.json({
        status: docker.reachable ? "ok" : "degraded",
        version: deps.version,
        docker,
      });
    },
  );
  return app;
}
