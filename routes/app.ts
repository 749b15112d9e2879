/**
 * The HTTP API (SPEC §7): a Hono app over an Engine.
 *
 * Adding a route (every route follows this, so GET /api/v1/openapi.json
 * lists it; tests/routes/openapi_test.ts fails otherwise):
 *
 *   const app = apiRouter();                       // routes/openapi.ts
 *   register(app, createRoute({
 *     method: "post", path: "/{sid}/thing",        // OpenAPI path syntax
 *     request: { params: z.object({ sid: SnapshotIdSchema }), query, body: jsonBody(Schema) },
 *     responses: { 200: json("what it answers"), ...COMMON_ERRORS, 404: errorJson("…") },
 *   }), async (c) => { const { sid } = c.req.valid("param"); … });
 *
 * The zod schemas in `request` validate the request (a failure is the usual
 * 400 invalid_input) and generate the document. Mount the router below with
 * app.route(); never register plain app.get() routes.
 */
import type { Catalog } from "../db/catalog.ts";
import { checkBearer } from "../src/auth/token.ts";
import type { Engine } from "../src/engine/types.ts";
import type { Logger } from "../src/core/log.ts";
import type { OperationRunner } from "../src/operations/runner.ts";
import { consoleRoutes } from "./console.ts";
import { apiRouter, type OpenAPIHono, serveDocument } from "./openapi.ts";
import type { RemoteService } from "../src/remote/service.ts";
import { errorResponse } from "./errors.ts";
import { eventRoutes } from "./events.ts";
import { healthRoutes } from "./health.ts";
import { leftoverRoutes } from "./leftovers.ts";
import { operationRoutes } from "./operations.ts";
import { remoteRoutes } from "./remote.ts";
import { snapshotRoutes } from "./snapshots.ts";
import { storageRoutes } from "./storage.ts";
import { workloadRoutes } from "./workloads.ts";
import { metricsRoutes } from "./metrics.ts";
import type { OpsDeps } from "./ops_deps.ts";
import { scheduleRoutes } from "./schedules.ts";
import { snapshotActionRoutes } from "./snapshot_actions.ts";

export interface AppDeps {
  engine: Engine;
  runner: OperationRunner;
  catalog: Catalog;
  token: string;
  log: Logger;
  version: string;
  ops: OpsDeps;
  /** Off-host storage, when configured (SPEC §13). */
  remote?: RemoteService;
}

export function createApp(deps: AppDeps): OpenAPIHono {
  const app = apiRouter();
  app.onError((err, c) => errorResponse(c, err, deps.log));
  app.notFound((c) =>
    c.json(
      { error: { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` } },
      404,
    )
  );

  // Audit trail of changes in the server log; reads (and polling) stay quiet.
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      deps.log.info("request", {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - t0),
      });
    }
  });

  app.route("/", healthRoutes(deps));
  app.route("/", consoleRoutes());
  app.route("/", metricsRoutes(deps));

  app.use("/api/v1/*", async (c, next) => {
    checkBearer(c.req.header("Authorization"), deps.token);
    await next();
  });
  app.route("/api/v1/workloads", workloadRoutes(deps));
  app.route("/api/v1/snapshots", snapshotRoutes(deps));
  app.route("/api/v1/snapshots", snapshotActionRoutes(deps));
  app.route("/api/v1/schedules", scheduleRoutes(deps));
  app.route("/api/v1/operations", operationRoutes(deps));
  app.route("/api/v1/events", eventRoutes(deps));
  app.route("/api/v1/remote", remoteRoutes(deps));
  app.route("/api/v1/leftovers", leftoverRoutes(deps));
  app.route("/api/v1/storage", storageRoutes(deps));
  serveDocument(app, deps.version);
  return app;
}
