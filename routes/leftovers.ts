/**
 * /api/v1/leftovers: old dirs a restore kept because its pre-restore
 * snapshot does not hold all of them (SPEC §5 Guards). Listed with the
 * reason; deleted only on an operator's explicit DELETE.
 */
import { z } from "zod";
import { WorkloadIdSchema } from "../src/core/model.ts";
import type { Engine } from "../src/engine/types.ts";
import { parseInput } from "./errors.ts";
import {
  apiRouter,
  COMMON_ERRORS,
  createRoute,
  errorJson,
  json,
  type OpenAPIHono,
  register,
} from "./openapi.ts";

export const LeftoverIdSchema = z.string().regex(/^lo_[0-9TZ]{16}-[0-9a-f]{8}$/, {
  message: "leftover id looks like lo_20261201T120000Z-0a1b2c3d",
});

const ListQuerySchema = z.strictObject({ workload: WorkloadIdSchema.optional() });

export function leftoverRoutes(
  deps: { engine: Pick<Engine, "listLeftovers" | "deleteLeftover"> },
): OpenAPIHono {
  const app = apiRouter();
  register(
    app,
    createRoute({
      method: "get",
      path: "/",
      summary: "old dirs a restore kept, with the reason",
      request: { query: ListQuerySchema },
      responses: { 200: json("leftovers"), ...COMMON_ERRORS },
    }),
    async (c) => {
      const q = parseInput(ListQuerySchema, c.req.query(), "query");
      const rows = await deps.engine.listLeftovers(q.workload);
      return c.json({
        leftovers: rows.map((l) => ({
          id: l.id,
          workload: l.workload,
          path: l.path,
          volumeKey: l.volumeKey,
          reason: l.reason,
          snapshotId: l.snapshotId,
          restoreOperation: l.restoreOp,
          createdAt: l.createdAt,
        })),
      });
    },
  );
  register(
    app,
    createRoute({
      method: "delete",
      path: "/{id}",
      summary: "delete a kept old dir (the operator's decision)",
      request: { params: z.object({ id: LeftoverIdSchema }) },
      responses: {
        204: { description: "deleted" },
        ...COMMON_ERRORS,
        404: errorJson("no such leftover"),
      },
    }),
    async (c) => {
      await deps.engine.deleteLeftover(
        parseInput(LeftoverIdSchema, c.req.param("id"), "leftover id"),
      );
      return c.body(null, 204);
    },
  );
  return app;
}
