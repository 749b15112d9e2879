/** /api/v1/snapshots/{sid}/drill and …/pin (SPEC §10, §17). */
import { Hono } from "hono";
import type { OperationRunner } from "../src/operations/runner.ts";
import { parseInput } from "./errors.ts";
import { respondWithOperation } from "./operation_response.ts";
import type { OpsDeps } from "./ops_deps.ts";
import { SnapshotIdSchema, WaitQuerySchema } from "./schemas.ts";

export function snapshotActionRoutes(
  deps: { ops: Pick<OpsDeps, "prepareDrill" | "setPinned">; runner: OperationRunner },
): Hono {
  const app = new Hono();
  const sid = (raw: string) => parseInput(SnapshotIdSchema, raw, "snapshot id");

  app.post("/:sid/drill", async (c) => {
    const id = sid(c.req.param("sid"));
    const { wait } = parseInput(WaitQuerySchema, c.req.query(), "query");
    const op = await deps.ops.prepareDrill(id);
    return respondWithOperation(c, deps.runner, op, { wait, resultKey: "drill", okStatus: 200 });
  });

  app.post("/:sid/pin", async (c) => {
    const id = sid(c.req.param("sid"));
    await deps.ops.setPinned(id, true);
    return c.json({ snapshotId: id, pinned: true });
  });

  app.delete("/:sid/pin", async (c) => {
    const id = sid(c.req.param("sid"));
    await deps.ops.setPinned(id, false);
    return c.json({ snapshotId: id, pinned: false });
  });
  return app;
}
