/** Minimal assertions (JSR's @std/assert is unreachable here). */
import { deepStrictEqual } from "node:assert";

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  try {
    deepStrictEqual(actual, expected);
  } catch (err) {
    throw new Error(`${msg ? msg + ": " : ""}${(err as Error).message}`);
  }
}

export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  if (!re.test(actual)) {
    throw new Error(`${msg ? msg + ": " : ""}${JSON.stringify(actual)} does not match ${re}`);
  }
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  check?: (err: unknown) => boolean | void,
): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    if (check && check(err) === false) throw new Error(`rejected with an unexpected error: ${err}`);
    return err;
  }
  throw new Error("expected the promise to reject");
}
