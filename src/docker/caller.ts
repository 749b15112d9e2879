/**
 * The two primitives every Engine API call goes through (defined in
 * http_client.ts), given to modules that add endpoints (swarm.ts), plus the
 * engine's error text.
 */
import type { z } from "zod";
import { errMessage } from "../core/errors.ts";
import { EngineErrorSchema } from "./schemas.ts";

export interface CallInit {
  method?: "GET" | "POST" | "DELETE";
  body?: unknown;
  timeoutMs?: number;
  /** Statuses (besides 2xx) the caller handles itself, e.g. 304 or 409. */
  accept?: number[];
  signal?: AbortSignal;
}

export interface EngineCaller {
  /** Sends one request; returns the response for 2xx and `accept` statuses, throws AppError otherwise. */
  call(op: string, target: string, path: string, init?: CallInit): Promise<Response>;
  /** Parses the body with `schema`; throws AppError docker_error when it does not fit. */
  json<S extends z.ZodType>(
    res: Response,
    schema: S,
    op: string,
    target: string,
  ): Promise<z.infer<S>>;
}

/** The engine's `{"message"}` text, or the raw body, for an error response. */
export async function engineMessage(res: Response): Promise<string> {
  let text = "";
  try {
    text = (await res.text()).trim();
  } catch (err) {
    return `HTTP ${res.status} (${errMessage(err)})`;
  }
  try {
    const parsed = EngineErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data.message;
  } catch { /* not JSON: use the text */ }
  return text.slice(0, 500) || `HTTP ${res.status}`;
}
