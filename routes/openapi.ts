/**
 * The one way a route is declared (SPEC §12): every route module builds an
 * `apiRouter()` and registers each route with `router.openapi(createRoute({
 * method, path: "/{param}", request: { params, query, body }, responses }),
 * handler)`, using the same zod schemas the handler relies on. The
 * `@hono/zod-openapi` validator checks params, query and JSON bodies against
 * them (failures become our usual 400 `invalid_input`), and
 * `GET /api/v1/openapi.json` is generated from the same declarations, so the
 * document cannot drift from validation. tests/routes/openapi_test.ts fails
 * for any registered route missing from the document.
 */
import { type Hook, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { z } from "zod";
import { AppError } from "../src/core/errors.ts";

export { createRoute } from "@hono/zod-openapi";
export type { OpenAPIHono };

/** What a failing field is called in the 400 message, by path parameter name. */
const PARAM_NAMES: Record<string, string> = {
  wid: "workload id",
  sid: "snapshot id",
  oid: "operation id",
};

// deno-lint-ignore no-explicit-any
const defaultHook: Hook<any, any, any, any> = (result) => {
  if (result.success) return;
  const issue = result.error.issues[0];
  const [first, ...rest] = issue.path.map(String);
  const what = result.target === "param"
    ? PARAM_NAMES[first] ?? first
    : result.target === "json"
    ? ["body", first, ...rest].filter(Boolean).join(".")
    : [result.target, first, ...rest].filter(Boolean).join(" ");
  throw new AppError("invalid_input", `invalid ${what}: ${issue.message}`);
};

/** A router whose routes are documented and validated from their zod schemas. */
export function apiRouter(): OpenAPIHono {
  return new OpenAPIHono({ defaultHook });
}

const AnyJson = z.looseObject({});
const ErrorJson = z.object({
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }),
});

/** A JSON response of `description` (shapes are in routes/json.ts). */
export function json(description: string) {
  return { description, content: { "application/json": { schema: AnyJson } } };
}

/** The `{"error":{code,message,hint?}}` response. */
export function errorJson(description: string) {
  return { description, content: { "application/json": { schema: ErrorJson } } };
}

/** A JSON request body validated by `schema` (an empty body counts as `{}`). */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { content: { "application/json": { schema } }, required: false };
}

/** Responses every API route may give. */
export const COMMON_ERRORS = {
  400: errorJson("invalid input"),
  401: errorJson("missing or wrong bearer token"),
} as const;

/** The document itself, served at GET /api/v1/openapi.json. */
export function serveDocument(app: OpenAPIHono, version: string): void {
  app.doc31("/api/v1/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "volsnap",
      version,
      description: "Snapshots and restores of Docker workload volumes (bearer token on /api/v1).",
    },
  });
}

declare const probe: OpenAPIHono;
type RouteHandler<R extends RouteConfig> = Parameters<typeof probe.openapi<R>>[1];
/** The handler's context: `c.req.valid("param" | "query" | "json")` is typed from the route. */
export type RouteContext<R extends RouteConfig> = Parameters<RouteHandler<R>>[0];

/**
 * Registers `route` on `app`. Handlers may answer any Response (streams,
 * 202 + Location, errors): the declared responses document them.
 */
export function register<R extends RouteConfig>(
  app: OpenAPIHono,
  route: R,
  handler: (c: RouteContext<R>) => Response | Promise<Response>,
): void {
  app.openapi(route, handler as unknown as RouteHandler<R>);
}
