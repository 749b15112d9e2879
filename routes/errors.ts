/**
 * Error responses and input validation for every route. Clients get
 * `{"error":{"code","message","hint?"}}`; unexpected errors are logged with
 * their stack here and reach the client only as "internal error".
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { AppError, toAppError } from "../src/core/errors.ts";
import type { Logger } from "../src/core/log.ts";

export interface ErrorBody {
  error: { code: string; message: string; hint?: string };
}

export function errorBody(err: AppError): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  if (err.hint) body.error.hint = err.hint;
  return body;
}

/** Maps any thrown value to a response; internal details stay in the log. */
export function errorResponse(c: Context, err: unknown, log: Logger): Response {
  // Hono's own validator refuses a malformed JSON body with a 400 HTTPException.
  const e = err instanceof HTTPException && err.status === 400
    ? new AppError("invalid_input", "request body is not valid JSON")
    : toAppError(err);
  if (e.code === "internal") {
    log.error("request failed", {
      method: c.req.method,
      path: c.req.path,
      error: e.message,
      stack: err instanceof Error ? err.stack : undefined,
    });
    return c.json(
      { error: { code: "internal", message: "internal error" } },
      500,
    );
  }
  return c.json(errorBody(e), e.status as ContentfulStatusCode);
}

/** Validates `value` or throws a 400 naming the first bad field. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue.path.length ? `${what} ${issue.path.join(".")}` : what;
  throw new AppError("invalid_input", `invalid ${where}: ${issue.message}`);
}

/** Reads a JSON body (an empty body counts as `{}`) and validates it. */
export async function parseJsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
): Promise<z.output<S>> {
  // A JSON content type was read (and validated) by the route's OpenAPI validator already.
  if (c.req.raw.bodyUsed) return parseInput(schema, await c.req.json(), "body");
  const text = await readSmallBody(c.req.raw, MAX_JSON_BODY);
  let value: unknown = {};
  if (text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch {
      throw new AppError("invalid_input", "request body is not valid JSON");
    }
  }
  return parseInput(schema, value, "body");
}

const MAX_JSON_BODY = 64 * 1024;

/** Reads a body of at most `max` bytes; JSON requests are small, so anything bigger is refused. */
async function readSmallBody(req: Request, max: number): Promise<string> {
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.byteLength;
    if (size > max) throw new AppError("too_large", `JSON body larger than ${max} bytes`);
    chunks.push(chunk);
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    all.set(ch, off);
    off += ch.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(all);
  } catch {
    throw new AppError("invalid_input", "request body is not valid UTF-8");
  }
}
