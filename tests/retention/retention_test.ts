import { assert, assertEquals } from "../_helpers/assert.ts";
import {
  parseRetentionPolicy,
  planPrune,
  type RetentionItem,
  type RetentionPolicy,
} from "../../src/retention/policy.ts";

const day = (
  d: number,
  origin = "capture",
  lastVerifyOk: boolean | null = null,
): RetentionItem => ({
  id: `${origin === "pre-upgrade" ? "upg" : origin.slice(0, 3)}${String(d).padStart(2, "0")}`,
  createdAt: new Date(Date.UTC(2026, 0, d, 12)).toISOString(),
  origin,
  lastVerifyOk,
});

const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({
  keepLast: 7,
  preRestoreKeepLast: 3,
  importedKeepLast: 7,
  remoteKeepLast: 7,
  preUpgradeKeepLast: 3,
  ...p,
});

Deno.test("planPrune() keeps the newest N captures and deletes the rest", () => {
  const items = [1, 2, 3, 4, 5].map((d) => day(d));
  assertEquals(planPrune(items, policy({ keepLast: 2 })).sort(), ["cap01", "cap02", "cap03"]);
});

Deno.test("planPrune() counts capture and scheduled as one bucket", () => {
  const items = [day(1), day(2, "scheduled"), day(3), day(4, "scheduled")];
  assertEquals(planPrune(items, policy({ keepLast: 2 })).sort(), ["cap01", "sch02"]);
});

Deno.test("planPrune() keeps pre-restore snapshots by their own keep-last, never just one", () => {
  const items = [day(1, "pre-restore"), day(2, "pre-restore"), day(3, "pre-restore"), day(4)];
  assertEquals(planPrune(items, policy({ keepLast: 5, preRestoreKeepLast: 1 })), ["pre01"]);
});

Deno.test("planPrune() importing 7 archives never prunes a local capture (origin buckets)", () => {
  const captures = [1, 2, 3].map((d) => day(d));
  const imports = [10, 11, 12, 13, 14, 15, 16].map((d) => day(d, "imported"));
  const doomed = planPrune([...captures, ...imports], policy({ keepLast: 3, importedKeepLast: 3 }));
  assertEquals(doomed.sort(), ["imp10", "imp11", "imp12", "imp13"]);
});

Deno.test("planPrune() gives imported, remote, pre-restore and pre-upgrade each their own keep-last", () => {
  const items = ["imported", "remote", "pre-restore", "pre-upgrade"].flatMap((o) =>
    [1, 2, 3, 4].map((d) => day(d, o))
  );
  const doomed = planPrune(
    [...items, day(20)],
    policy({
      keepLast: 1,
      importedKeepLast: 1, // below the floor of 2: 2 are kept
      remoteKeepLast: 3,
      preRestoreKeepLast: 2,
      preUpgradeKeepLast: 4,
    }),
  );
  assertEquals(doomed.sort(), ["imp01", "imp02", "pre01", "pre02", "rem01"]);
});

Deno.test("planPrune() never prunes a pinned snapshot or an origin it does not know", () => {
  const items = [{ ...day(1), pinned: true }, day(2), day(3), day(4, "from-the-future")];
  assertEquals(planPrune(items, policy({ keepLast: 1 })), ["cap02"]);
});

Deno.test("planPrune() never deletes the newest verified snapshot", () => {
  const items = [day(1, "capture", true), day(2), day(3)];
  assertEquals(planPrune(items, policy({ keepLast: 1 })), ["cap02"]);
});

Deno.test("planPrune() keeps one per day for keepDaily", () => {
  const items = [
    day(1),
    { ...day(2), id: "cap02b", createdAt: "2026-01-02T13:00:00.000Z" },
    day(2),
    day(3),
  ];
  assertEquals(planPrune(items, policy({ keepLast: 1, keepDaily: 3 })), ["cap02"]);
});

Deno.test("parseRetentionPolicy() takes per-workload overrides from container labels", () => {
  const r = parseRetentionPolicy({ keepLast: 7, preRestoreKeepLast: 3 }, [
    {},
    { "volsnap.keep-last": "2", "volsnap.keep-daily": "5", "volsnap.keep-weekly": "0" },
  ]);
  assertEquals(r.error, undefined);
  assertEquals(r.policy?.keepLast, 2);
  assertEquals(r.policy?.keepDaily, 5);
  assertEquals(r.policy?.keepWeekly, 0);
  assertEquals(r.policy?.preRestoreKeepLast, 3);
});

Deno.test("parseRetentionPolicy() refuses keep-last=0, 30d, junk and conflicting labels", () => {
  for (
    const labels of [
      [{ "volsnap.keep-last": "0" }],
      [{ "volsnap.keep-last": "30d" }],
      [{ "volsnap.keep-daily": "junk" }],
      [{ "volsnap.keep-monthly": "-1" }],
      [{ "volsnap.keep-last": "3" }, { "volsnap.keep-last": "4" }],
    ]
  ) {
    const r = parseRetentionPolicy({ keepLast: 7, preRestoreKeepLast: 3 }, labels);
    assertEquals(r.policy, undefined, JSON.stringify(labels));
    assert(r.error?.includes("volsnap.keep-"), `${JSON.stringify(labels)}: ${r.error}`);
  }
});
