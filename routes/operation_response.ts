/** Starting a long operation from a route: 202 + Location, or `?wait=true` for the result. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { PreparedOperation } from "../src/engine/types.ts";
import { toAppError } from "../src/core/errors.ts";
import type { OperationRunner } from "../src/operations/runner.ts";
import { errorBody } from "./errors.ts";

/** Wraps `op` so the stored/returned result is already in its API shape. */
export function mapOperation<T, U>(
  op: PreparedOperation<T>,
  fn: (t: T) => U,
): PreparedOperation<U> {
  return {
    kind: op.kind,
    workload: op.workload,
    snapshotId: op.snapshotId,
    run: async (ctx) => fn(await op.run(ctx)),
    cancel: () => op.cancel(),
  };
}

/**
 * Starts `op`. Without `wait`: 202 + Location + the operation. With `wait`:
 * blocks until it settles and answers `{[resultKey]: result, operation}` with
 * `okStatus`, or the failure's own status.
 */
export async function respondWithOperation<T>(
  c: Context,
  runner: OperationRunner,
  op: PreparedOperation<T>,
  opts: { wait: boolean; resultKey: string; okStatus: ContentfulStatusCode },
): Promise<Response> {
  const { id, done } = runner.start(op);
  const location = `/api/v1/operations/${id}`;
  c.header("Location", location);
  if (!opts.wait) {
    const operation = await runner.get(id);
    return c.json({ operation }, 202);
  }
  try {
    const result = await done;
    return c.json({ [opts.resultKey]: result, operation: await runner.get(id) }, opts.okStatus);
  } catch (err) {
    const e = toAppError(err);
    const body = e.code === "internal"
      ? { error: { code: "internal", message: "internal error" } }
      : errorBody(e);
    return c.json({ ...body, operation: await runner.get(id) }, e.status as ContentfulStatusCode);
  }
}
