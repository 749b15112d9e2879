/**
 * /api/v1/remote: what off-host storage holds (all hosts, from the sidecars)
 * and adoption of it into this host's catalog (SPEC §13). Answers never carry
 * a credential: only the remote URL, host ids and object keys.
 */
import { z } from "zod";
import { AppError } from "../src/core/errors.ts";
import type { RemoteService } from "../src/remote/service.ts";
import { parseJsonBody } from "./errors.ts";
import {
  apiRouter,
  COMMON_ERRORS,
  createRoute,
  errorJson,
  json,
  jsonBody,
  type OpenAPIHono,
  register,
} from "./openapi.ts";

const SyncBodySchema = z.strictObject({
  /** Adopt the snapshots another host wrote ("*": every host); default: this host's own. */
  host: z.string().regex(/^(\*|[A-Za-z0-9_-]{1,64})$/, "host must be a host id or *").optional(),
});

const REMOTE_ERRORS = {
  ...COMMON_ERRORS,
  404: errorJson("off-host storage is not configured"),
  503: errorJson("off-host storage unreachable"),
} as const;

export function remoteRoutes(deps: { remote?: RemoteService }): OpenAPIHono {
  const app = apiRouter();
  const remote = () => {
    if (!deps.remote) {
      throw new AppError("not_found", "off-host storage is not configured", {
        hint: "set VOLSNAP_REMOTE (s3://bucket/prefix or file:///path)",
      });
    }
    return deps.remote;
  };
  register(
    app,
    createRoute({
      method: "get",
      path: "/snapshots",
      summary: "snapshots in off-host storage (every host), from their sidecars",
      responses: {
        200: json("location, this host id, snapshots, invalid sidecars"),
        ...REMOTE_ERRORS,
      },
    }),
    async (c) => {
      const r = remote();
      const { snapshots, invalid } = await r.listRemote();
      return c.json({ location: r.location, host: r.rc.catalog.host, snapshots, invalid });
    },
  );
  register(
    app,
    createRoute({
      method: "post",
      path: "/sync",
      summary: "adopt off-host snapshots into this host's catalog (origin remote)",
      request: { body: jsonBody(SyncBodySchema) },
      responses: { 200: json("adopted ids, skipped with reasons"), ...REMOTE_ERRORS },
    }),
    async (c) => {
      const r = remote();
      const result = await r.sync(await parseJsonBody(c, SyncBodySchema));
      return c.json({ location: r.location, ...result });
    },
  );
  return app;
}
