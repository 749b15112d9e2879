import { assertEquals } from "../_helpers/assert.ts";
import { planPrune, type RetentionItem } from "../../src/retention/policy.ts";
import { retentionPolicy } from "../../src/retention/prune.ts";

const day = (
  d: number,
  origin = "capture",
  lastVerifyOk: boolean | null = null,
): RetentionItem => ({
  id: `s${String(d).padStart(2, "0")}`,
  createdAt: new Date(Date.UTC(2026, 0, d, 12)).toISOString(),
  origin,
  lastVerifyOk,
});

Deno.test("planPrune() keeps the newest N captures and deletes the rest", () => {
  const items = [1, 2, 3, 4, 5].map((d) => day(d));
  assertEquals(planPrune(items, { keepLast: 2, preRestoreKeepLast: 2 }).sort(), [
    "s01",
    "s02",
    "s03",
  ]);
});

Deno.test("planPrune() keeps pre-restore snapshots by their own keep-last, never just one", () => {
  const items = [day(1, "pre-restore"), day(2, "pre-restore"), day(3, "pre-restore"), day(4)];
  assertEquals(planPrune(items, { keepLast: 5, preRestoreKeepLast: 1 }), ["s01"]);
});

Deno.test("planPrune() never deletes the newest verified snapshot", () => {
  const items = [day(1, "capture", true), day(2), day(3)];
  assertEquals(planPrune(items, { keepLast: 1, preRestoreKeepLast: 2 }), ["s02"]);
});

Deno.test("planPrune() keeps one per day for keepDaily", () => {
  const items = [
    day(1),
    { ...day(2), id: "s02b", createdAt: "2026-01-02T13:00:00.000Z" },
    day(2),
    day(3),
  ];
  assertEquals(planPrune(items, { keepLast: 1, keepDaily: 3, preRestoreKeepLast: 2 }), ["s02"]);
});

Deno.test("retentionPolicy() takes per-workload overrides from container labels", () => {
  const p = retentionPolicy({ keepLast: 7, preRestoreKeepLast: 3 }, [
    { labels: {} },
    {
      labels: {
        "volsnap.keep-last": "2",
        "volsnap.keep-daily": "5",
        "volsnap.keep-weekly": "junk",
      },
    },
  ]);
  assertEquals(p, { keepLast: 2, keepDaily: 5, preRestoreKeepLast: 3 });
});
