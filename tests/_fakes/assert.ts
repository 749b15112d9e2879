/** Assertions for my tests on top of node:assert (JSR's @std/assert is unreachable here). */
import assertNode from "node:assert/strict";

export function assert(cond: unknown, msg?: string): asserts cond {
  assertNode.ok(cond, msg);
}
export function assertEquals<T>(actual: unknown, expected: T, msg?: string): void {
  assertNode.deepStrictEqual(actual, expected, msg);
}
export function assertMatch(actual: string, re: RegExp): void {
  assertNode.match(actual, re);
}
export function assertStringIncludes(actual: string, part: string): void {
  assertNode.ok(
    actual.includes(part),
    `expected ${JSON.stringify(actual)} to include ${JSON.stringify(part)}`,
  );
}
export async function assertRejects(fn: () => Promise<unknown>, check?: (e: unknown) => void) {
  let threw = false;
  try {
    await fn();
  } catch (e) {
    threw = true;
    check?.(e);
  }
  assertNode.ok(threw, "expected a rejection");
}
export function assertThrows(fn: () => unknown, check?: (e: unknown) => void) {
  let threw = false;
  try {
    fn();
  } catch (e) {
    threw = true;
    check?.(e);
  }
  assertNode.ok(threw, "expected a throw");
}
