/**
 * GET /api/v1/operations/{oid}: state and progress of a long operation;
 * GET /api/v1/operations/{oid}/events: the same as server-sent events.
 */
import { Hono } from "hono";
import type { OperationRunner } from "../src/operations/runner.ts";
import { parseInput } from "./errors.ts";
import { operationEventStream, SSE_HEADERS } from "./operation_events.ts";
import { OperationIdSchema } from "./schemas.ts";

export function operationRoutes(deps: { runner: OperationRunner }): Hono {
  const app = new Hono();
  const find = async (raw: string) => {
    const oid = parseInput(OperationIdSchema, raw, "operation id");
    return { oid, operation: await deps.runner.get(oid) };
  };
  app.get("/:oid", async (c) => {
    const { oid, operation } = await find(c.req.param("oid"));
    if (!operation) {
      return c.json({ error: { code: "not_found", message: `operation ${oid} not found` } }, 404);
    }
    return c.json({ operation });
  });
  app.get("/:oid/events", async (c) => {
    const { oid, operation } = await find(c.req.param("oid"));
    if (!operation) {
      return c.json({ error: { code: "not_found", message: `operation ${oid} not found` } }, 404);
    }
    return c.body(operationEventStream(deps.runner, oid, operation), 200, SSE_HEADERS);
  });
  return app;
}
