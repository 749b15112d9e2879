/** Stream wrappers for what is read back from off-host storage. */
import { createHash } from "node:crypto";
import { AppError } from "../core/errors.ts";

/** Replaces a stream's error with what `map` returns. */
export function onError(
  s: ReadableStream<Uint8Array>,
  map: (err: unknown) => Promise<unknown>,
): ReadableStream<Uint8Array> {
  const reader = s.getReader();
  return new ReadableStream({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) c.close();
        else c.enqueue(value);
      } catch (err) {
        c.error(await map(err));
      }
    },
    cancel: (r) => reader.cancel(r),
  });
}

export function checkSha256(s: ReadableStream<Uint8Array>, want: string, id: string) {
  const h = createHash("sha256");
  return s.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(c, ctl) {
        h.update(c);
        ctl.enqueue(c);
      },
      flush() {
        const got = h.digest("hex");
        if (got !== want) {
          throw new AppError(
            "integrity_error",
            `snapshot ${id} read from off-host storage has sha256 ${got}, expected ${want}`,
          );
        }
      },
    }),
  );
}
