/**
 * GET /api/v1/operations/{oid}: state and progress of a long operation;
 * GET /api/v1/operations/{oid}/events: the same as server-sent events.
 */
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
import { operationEventStream, SSE_HEADERS } from "./operation_events.ts";
import { OperationIdSchema } from "./schemas.ts";

export function operationRoutes(deps: { runner: OperationRunner }): OpenAPIHono {
  const app = apiRouter();
  const find = async (raw: string) => {
    const oid = parseInput(OperationIdSchema, raw, "operation id");
    return { oid, operation: await deps.runner.get(oid) };
  };
  register(
    app,
    createRoute({
      method: "get",
      path: "/{oid}",
      summary: "state and progress of a long operation",
      request: { params: z.object({ oid: OperationIdSchema }) },
      responses: {
        200: json("the operation"),
        ...COMMON_ERRORS,
        404: errorJson("no such operation"),
      },
    }),
    async (c) => {
      const { oid, operation } = await find(c.req.param("oid"));
      if (!operation) {
        return c.json({ error: { code: "not_found", message: `operation ${oid} not found` } }, 404);
      }
      return c.json({ operation });
    },
  );
  register(
    app,
    createRoute({
      method: "get",
      path: "/{oid}/events",
      summary: "the operation as server-sent events",
      request: { params: z.object({ oid: OperationIdSchema }) },
      responses: {
        200: {
          description: "text/event-stream of operation states",
          content: { "text/event-stream": { schema: z.string() } },
        },
        ...COMMON_ERRORS,
        404: errorJson("no such operation"),
      },
    }),
    async (c) => {
      const { oid, operation } = await find(c.req.param("oid"));
      if (!operation) {
        return c.json({ error: { code: "not_found", message: `operation ${oid} not found` } }, 404);
      }
      return c.body(operationEventStream(deps.runner, oid, operation), 200, SSE_HEADERS);
    },
  );
  return app;
}
