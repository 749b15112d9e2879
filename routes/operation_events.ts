/**
 * GET /api/v1/operations/{oid}/events: an operation's progress as
 * server-sent events. Each change of state, phase or bytes is one
 * `event: operation` with `data: {"operation": …}` (the same shape as
 * GET /api/v1/operations/{oid}); the stream ends after the final state.
 * Browsers read it with fetch (EventSource cannot send the bearer token).
 */
import type { OperationView } from "../src/operations/runner.ts";

/** How often the in-memory operation is looked at; changes are sent, nothing else. */
export const SSE_POLL_MS = 200;
/** A comment line this often keeps proxies from closing an idle stream. */
export const SSE_KEEPALIVE_MS = 15_000;

export interface OperationSource {
  get(id: string): Promise<OperationView | undefined>;
}

/** The SSE body for operation `oid` (which must exist); cancelling it stops the polling. */
export function operationEventStream(
  runner: OperationSource,
  oid: string,
  first: OperationView,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let stopped = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      wake = () => {
        clearTimeout(timer);
        r();
      };
    });
  return new ReadableStream<Uint8Array>({
    async start(ctrl) {
      let last = "";
      let quietMs = 0;
      let op: OperationView | undefined = first;
      try {
        while (!stopped && op) {
          const json = JSON.stringify({ operation: op });
          if (json !== last) {
            ctrl.enqueue(enc.encode(`event: operation\ndata: ${json}\n\n`));
            last = json;
            quietMs = 0;
          } else if ((quietMs += SSE_POLL_MS) >= SSE_KEEPALIVE_MS) {
            ctrl.enqueue(enc.encode(": keepalive\n\n"));
            quietMs = 0;
          }
          if (op.state !== "running") break;
          await sleep(SSE_POLL_MS);
          op = await runner.get(oid);
        }
        if (!stopped) ctrl.close();
      } catch (err) {
        if (!stopped) ctrl.error(err);
      }
    },
    cancel() {
      stopped = true;
      wake?.();
    },
  });
}

/**
 * `no-cache`, not `no-store`: Chromium reports a no-store fetch stream that
 * reached its end as aborted (net::ERR_ABORTED, playwright issue #42742).
 */
export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
};
