/** /api/v1/snapshots/{sid}/drill and …/pin (SPEC §10, §17). */
import {
  apiRouter,
  COMMON_ERRORS,
  createRoute,
  errorJson,
  json,
  type OpenAPIHono,
  register,
} from "./openapi.ts";
import { z } from "zod";
import type { OperationRunner } from "../src/operations/runner.ts";
import { parseInput } from "./errors.ts";
import { respondWithOperation } from "./operation_response.ts";
import type { OpsDeps } from "./ops_deps.ts";
import { SnapshotIdSchema, WaitQuerySchema } from "./schemas.ts";

export function snapshotActionRoutes(
  deps: { ops: Pick<OpsDeps, "prepareDrill" | "setPinned">; runner: OperationRunner },
): OpenAPIHono {
  const app = apiRouter();

  register(
    app,
    createRoute({
      method: "post",
      path: "/{sid}/drill",
      summary: "restore drill into scratch space (never the live volumes)",
      request: { params: z.object({ sid: SnapshotIdSchema }), query: WaitQuerySchema },
      responses: {
        200: json("the drill result (with ?wait=true); ok:false when it failed"),
        202: json("operation started"),
        ...COMMON_ERRORS,
        404: errorJson("no such snapshot"),
        409: errorJson("workload busy"),
      },
    }),
    async (c) => {
      const id = c.req.valid("param").sid;
      const { wait } = parseInput(WaitQuerySchema, c.req.query(), "query");
      const op = await deps.ops.prepareDrill(id);
      return respondWithOperation(c, deps.runner, op, { wait, resultKey: "drill", okStatus: 200 });
    },
  );

  register(
    app,
    createRoute({
      method: "post",
      path: "/{sid}/pin",
      summary: "pin: never pruned",
      request: { params: z.object({ sid: SnapshotIdSchema }) },
      responses: { 200: json("pinned"), ...COMMON_ERRORS, 404: errorJson("no such snapshot") },
    }),
    async (c) => {
      const id = c.req.valid("param").sid;
      await deps.ops.setPinned(id, true);
      return c.json({ snapshotId: id, pinned: true });
    },
  );

  register(
    app,
    createRoute({
      method: "delete",
      path: "/{sid}/pin",
      summary: "unpin",
      request: { params: z.object({ sid: SnapshotIdSchema }) },
      responses: { 200: json("unpinned"), ...COMMON_ERRORS, 404: errorJson("no such snapshot") },
    }),
    async (c) => {
      const id = c.req.valid("param").sid;
      await deps.ops.setPinned(id, false);
      return c.json({ snapshotId: id, pinned: false });
    },
  );
  return app;
}
