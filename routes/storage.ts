/** GET /api/v1/storage: frame store size, logical size of all snapshots, dedup ratio (SPEC §15). */
import {
  apiRouter,
  COMMON_ERRORS,
  createRoute,
  json,
  type OpenAPIHono,
  register,
} from "./openapi.ts";
import type { Engine } from "../src/engine/types.ts";

export function storageRoutes(deps: { engine: Engine }): OpenAPIHono {
  const app = apiRouter();
  register(
    app,
    createRoute({
      method: "get",
      path: "/",
      summary: "frame store size, logical size of all snapshots, dedup ratio",
      responses: { 200: json("storage"), ...COMMON_ERRORS },
    }),
    async (c) => c.json({ storage: await deps.engine.storage() }),
  );
  return app;
}
