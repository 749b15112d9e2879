/** GET /api/v1/operations/{oid}: state and progress of a long operation. */
import { Hono } from "hono";
import type { OperationRunner } from "../src/operations/runner.ts";
import { parseInput } from "./errors.ts";
import { OperationIdSchema } from "./schemas.ts";

export function operationRoutes(deps: { runner: OperationRunner }): Hono {
  const app = new Hono();
  app.get("/:oid", async (c) => {
    const oid = parseInput(OperationIdSchema, c.req.param("oid"), "operation id");
    const operation = await deps.runner.get(oid);
    if (!operation) {
      return c.json({ error: { code: "not_found", message: `operation ${oid} not found` } }, 404);
    }
    return c.json({ operation });
  });
  return app;
}
