/** /api/v1/events: the audit log, newest first, paged by id. */
import {
  apiRouter,
  COMMON_ERRORS,
  createRoute,
  json,
  type OpenAPIHono,
  register,
} from "./openapi.ts";
import { z } from "zod";
import { WorkloadIdSchema } from "../src/core/model.ts";
import type { Catalog } from "../db/catalog.ts";
import { parseInput } from "./errors.ts";
import { eventJson } from "./json.ts";

const EventsQuerySchema = z.strictObject({
  workload: WorkloadIdSchema.optional(),
  limit: z.string().regex(/^\d{1,4}$/, "limit must be a number").transform(Number)
    .pipe(z.number().int().min(1).max(1000)).optional(),
  before: z.string().regex(/^\d{1,15}$/, "before must be an event id").transform(Number)
    .pipe(z.number().int().min(1)).optional(),
});

export function eventRoutes(deps: { catalog: Catalog }): OpenAPIHono {
  const app = apiRouter();
  register(
    app,
    createRoute({
      method: "get",
      path: "/",
      summary: "audit log, newest first, filter by workload",
      request: { query: EventsQuerySchema },
      responses: { 200: json("events and nextBefore"), ...COMMON_ERRORS },
    }),
    async (c) => {
      const q = parseInput(EventsQuerySchema, c.req.query(), "query");
      const limit = q.limit ?? 100;
      const rows = await deps.catalog.listEvents({ workload: q.workload, limit, before: q.before });
      const next = rows.length === limit ? rows[rows.length - 1].id : null;
      return c.json({ events: rows.map(eventJson), nextBefore: next });
    },
  );
  return app;
}
