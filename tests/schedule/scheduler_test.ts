import { assert, assertEquals } from "../_helpers/assert.ts";
import { silentLogger } from "../../src/core/log.ts";
import {
  type RunOutcome,
  Scheduler,
  type ScheduleState,
  type ScheduleStore,
  type ScheduleTarget,
} from "../../src/schedule/scheduler.ts";
import { nextRunAfter, parseDuration, parseSchedule } from "../../src/schedule/spec.ts";

class MemStore implements ScheduleStore {
  rows = new Map<string, ScheduleState>();
  list() {
    return Promise.resolve([...this.rows.values()].map((r) => ({ ...r })));
  }
  put(s: ScheduleState) {
    this.rows.set(`${s.kind}/${s.workload}`, { ...s });
    return Promise.resolve();
  }
  remove(workload: string, kind: string) {
    this.rows.delete(`${kind}/${workload}`);
    return Promise.resolve();
  }
  get(workload: string, kind = "snapshot") {
    return this.rows.get(`${kind}/${workload}`);
  }
}

function harness(targets: ScheduleTarget[], store = new MemStore()) {
  let now = new Date("2026-06-01T00:00:00Z");
  const runs: string[] = [];
  const skips: string[] = [];
  let outcome: () => Promise<RunOutcome> = () => Promise.resolve({ ok: true });
  const s = new Scheduler({
    now: () => now,
    store,
    targets: () => Promise.resolve(targets),
    run: (t) => {
      runs.push(`${t.workload}@${now.toISOString()}`);
      return outcome();
    },
    skipped: (t, reason) => {
      skips.push(`${t.workload}: ${reason}`);
      return Promise.resolve();
    },
    log: silentLogger,
    refreshMs: 0,
  });
  return {
    s,
    store,
    runs,
    skips,
    at(iso: string) {
      now = new Date(iso);
    },
    setOutcome(f: () => Promise<RunOutcome>) {
      outcome = f;
    },
  };
}

const snap = (workload: string, expression: string): ScheduleTarget => ({
  workload,
  kind: "snapshot",
  expression,
});

Deno.test("parseSchedule() accepts cron, shortcuts, @every, CRON_TZ and off", () => {
  assertEquals(parseSchedule("off"), null);
  assertEquals(parseSchedule("  "), null);
  assertEquals(parseSchedule("@every 30s")?.kind, "every");
  assertEquals(parseSchedule("@daily")?.kind, "cron");
  const tz = parseSchedule("CRON_TZ=Europe/Berlin 0 3 * * *");
  assert(tz?.kind === "cron" && tz.timezone === "Europe/Berlin" && tz.pattern === "0 3 * * *");
  assertEquals(parseDuration("1h30m"), 5_400_000);
  for (const bad of ["@every 5s", "@every", "@every 10x", "0 3 * *", "0 0 3 * * *", "@yearly2"]) {
    let threw = false;
    try {
      parseSchedule(bad);
    } catch {
      threw = true;
    }
    assert(threw, `"${bad}" must be rejected`);
  }
  let tzErr = "";
  try {
    parseSchedule("CRON_TZ=Mars/Olympus 0 3 * * *");
  } catch (err) {
    tzErr = (err as Error).message;
  }
  assert(tzErr.includes("Mars/Olympus"), tzErr);
});

Deno.test("nextRunAfter() follows cron in UTC and in a CRON_TZ zone", () => {
  const utc = parseSchedule("CRON_TZ=UTC 30 2 * * *")!;
  assertEquals(
    nextRunAfter(utc, new Date("2026-06-01T02:29:59Z")).toISOString(),
    "2026-06-01T02:30:00.000Z",
  );
  assertEquals(
    nextRunAfter(utc, new Date("2026-06-01T02:30:00Z")).toISOString(),
    "2026-06-02T02:30:00.000Z",
  );
  // Tokyo has no DST: 03:00 JST is always 18:00 UTC the day before.
  const tokyo = parseSchedule("CRON_TZ=Asia/Tokyo 0 3 * * *")!;
  assertEquals(
    nextRunAfter(tokyo, new Date("2026-01-10T12:00:00Z")).toISOString(),
    "2026-01-10T18:00:00.000Z",
  );
  const every = parseSchedule("@every 15m")!;
  assertEquals(
    nextRunAfter(every, new Date("2026-06-01T00:00:00Z")).toISOString(),
    "2026-06-01T00:15:00.000Z",
  );
});

Deno.test("Scheduler plans the first run, then runs when due and plans the next", async () => {
  const h = harness([snap("app", "CRON_TZ=UTC 0 * * * *")]);
  await h.s.tick();
  assertEquals(h.store.get("app")?.nextRunAt, "2026-06-01T01:00:00.000Z");
  assertEquals(h.runs, []);
  h.at("2026-06-01T00:59:59Z");
  await h.s.tick();
  assertEquals(h.runs, []);
  h.at("2026-06-01T01:00:00Z");
  await h.s.tick();
  await h.s.idle();
  assertEquals(h.runs, ["app@2026-06-01T01:00:00.000Z"]);
  const st = h.store.get("app")!;
  assertEquals(st.lastRunAt, "2026-06-01T01:00:00.000Z");
  assertEquals(st.nextRunAt, "2026-06-01T02:00:00.000Z");
  assertEquals(st.lastResult, "ok");
});

Deno.test("Scheduler runs exactly one catch-up after downtime over many due times", async () => {
  const store = new MemStore();
  await store.put({
    ...snap("app", "CRON_TZ=UTC 0 * * * *"),
    nextRunAt: "2026-05-31T10:00:00.000Z", // 14 hourly slots were missed
    lastRunAt: "2026-05-31T09:00:00.000Z",
    lastResult: "ok",
  });
  const h = harness([snap("app", "CRON_TZ=UTC 0 * * * *")], store);
  await h.s.tick();
  await h.s.idle();
  await h.s.tick();
  h.at("2026-06-01T00:30:00Z");
  await h.s.tick();
  await h.s.idle();
  assertEquals(h.runs, ["app@2026-06-01T00:00:00.000Z"]);
  assertEquals(h.store.get("app")?.nextRunAt, "2026-06-01T01:00:00.000Z");
});

Deno.test("Scheduler skips (never queues) a run that falls due while busy", async () => {
  const h = harness([snap("app", "@every 10s"), snap("db", "@every 10s")]);
  await h.s.tick();
  // app: the engine reports the workload lock held by another operation.
  h.setOutcome(() => Promise.resolve({ ok: false, busy: true, message: "workload busy" }));
  h.at("2026-06-01T00:00:10Z");
  await h.s.tick();
  await h.s.idle();
  assertEquals(h.store.get("app")?.lastResult, "skipped: busy");
  assertEquals(h.skips.length, 2);
  // Our own previous run still going: the next due run is skipped, not queued.
  const pending: (() => void)[] = [];
  h.setOutcome(() => new Promise((r) => pending.push(() => r({ ok: true }))));
  h.at("2026-06-01T00:00:20Z");
  await h.s.tick();
  h.at("2026-06-01T00:00:30Z");
  await h.s.tick();
  assertEquals(h.runs.filter((r) => r.endsWith("00:00:30.000Z")), []);
  assert(h.skips.some((s) => s.includes("still going")), h.skips.join("\n"));
  pending.forEach((f) => f());
  h.setOutcome(() => Promise.resolve({ ok: true }));
  await h.s.idle();
  h.at("2026-06-01T00:00:41Z");
  await h.s.tick();
  await h.s.idle();
  assertEquals(h.runs.filter((r) => r === "app@2026-06-01T00:00:41.000Z").length, 1);
});

Deno.test("Scheduler records failures, invalid labels, and drops gone targets", async () => {
  const targets = [snap("app", "@every 10s"), snap("bad", "@every 2s")];
  const h = harness(targets);
  h.setOutcome(() => Promise.resolve({ ok: false, message: "pre hook exited 1" }));
  await h.s.tick();
  assert(h.store.get("bad")?.lastResult?.startsWith("invalid:"));
  assertEquals(h.store.get("bad")?.nextRunAt, null);
  h.at("2026-06-01T00:00:10Z");
  await h.s.tick();
  await h.s.idle();
  assertEquals(h.store.get("app")?.lastResult, "failed: pre hook exited 1");
  // A changed expression replans without running.
  targets[0] = snap("app", "@every 1h");
  await h.s.tick();
  assertEquals(h.store.get("app")?.nextRunAt, "2026-06-01T01:00:10.000Z");
  targets.splice(1, 1);
  await h.s.tick();
  assertEquals(h.store.get("bad"), undefined);
  assertEquals(h.runs.length, 1);
});
