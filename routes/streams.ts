/** Stream adapters for request and response bodies. */
import { AppError } from "../src/core/errors.ts";

/**
 * A pull-based copy of `source`: nothing is read before the consumer asks,
 * and cancelling (a client that went away) cancels the source at once.
 */
export function pullStream(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        const { done, value } = await reader.read();
        if (done) ctrl.close();
        else ctrl.enqueue(value);
      } catch (err) {
        ctrl.error(err);
      }
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Fails the stream when no chunk arrives for `idleMs` (a stalled or vanished uploader). */
export function withIdleTimeout(
  source: ReadableStream<Uint8Array>,
  idleMs: number,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new AppError("invalid_input", `upload stalled: no data for ${idleMs / 1000} s`),
            ),
          idleMs,
        );
      });
      try {
        const { done, value } = await Promise.race([reader.read(), timeout]);
        if (done) ctrl.close();
        else ctrl.enqueue(value);
      } catch (err) {
        reader.cancel(err).catch(() => {});
        ctrl.error(err);
      } finally {
        clearTimeout(timer);
      }
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
