/**
 * What a schedule target is and what a scheduled run does, over the engine:
 * `volsnap.schedule` (or VOLSNAP_SCHEDULE) → a capture with origin
 * `scheduled` (retention follows inside the capture); `volsnap.drill` → a
 * restore drill of the workload's newest snapshot. Runs go through the
 * operation runner, so they show in /api/v1/operations like API calls.
 */
import { AppError, errMessage, toAppError } from "../core/errors.ts";
import type { EngineContext } from "../engine/context.ts";
import type { Engine, PreparedOperation } from "../engine/types.ts";
import type { OperationRunner } from "../operations/runner.ts";
import type { DrillResult } from "../drill/drill.ts";
import { discoverWorkloads } from "../workloads/discover.ts";
import {
  type RunOutcome,
  Scheduler,
  type ScheduleStore,
  type ScheduleTarget,
} from "./scheduler.ts";

export const SCHEDULE_LABEL = "volsnap.schedule";
export const DRILL_LABEL = "volsnap.drill";

export interface ScheduleWiring {
  ctx: EngineContext;
  engine: Engine;
  runner: OperationRunner;
  store: ScheduleStore;
  prepareDrill(sid: string): Promise<PreparedOperation<DrillResult>>;
}

export async function scheduleTargets(ctx: EngineContext): Promise<ScheduleTarget[]> {
  const out: ScheduleTarget[] = [];
  for (const w of await discoverWorkloads(ctx.docker, ctx.discovery)) {
    // A Swarm service's labels count too, also while it has no task (SPEC §2, §10).
    const label = (name: string) =>
      [...w.containers, ...w.services ?? []].map((c) => c.labels[name])
        .find((v) => v !== undefined && v.trim() !== "");
    const snapshot = label(SCHEDULE_LABEL) ?? ctx.config.schedule;
    if (snapshot) out.push({ workload: w.id, kind: "snapshot", expression: snapshot });
    const drill = label(DRILL_LABEL);
    if (drill) out.push({ workload: w.id, kind: "drill", expression: drill });
  }
  return out;
}

async function runOp<T>(
  w: ScheduleWiring,
  prepare: () => Promise<PreparedOperation<T>>,
  judge: (t: T) => RunOutcome,
): Promise<RunOutcome> {
  let op: PreparedOperation<T>;
  try {
    op = await prepare();
  } catch (err) {
    const e = toAppError(err);
    return { ok: false, busy: e.code === "workload_busy", message: e.message };
  }
  try {
    return judge(await w.runner.start(op).done);
  } catch (err) {
    return { ok: false, message: errMessage(err) };
  }
}

export function runScheduled(w: ScheduleWiring, t: ScheduleTarget): Promise<RunOutcome> {
  if (t.kind === "snapshot") {
    return runOp(
      w,
      () => w.engine.prepareCapture(t.workload, { origin: "scheduled" }),
      () => ({ ok: true }),
    );
  }
  return runOp(w, async () => {
    const newest = (await w.engine.listSnapshots(t.workload)).find((s) => s.status === "complete");
    if (!newest) {
      throw new AppError("not_found", `workload "${t.workload}" has no snapshot to drill`);
    }
    return w.prepareDrill(newest.id);
  }, (r) => r.ok ? { ok: true } : { ok: false, message: r.error ?? "drill failed" });
}

export function createScheduler(w: ScheduleWiring): Scheduler {
  const { ctx } = w;
  return new Scheduler({
    now: () => ctx.clock.now(),
    store: w.store,
    targets: () => scheduleTargets(ctx),
    run: (t) => runScheduled(w, t),
    skipped: (t, reason) =>
      ctx.event(
        "schedule_skipped",
        `scheduled ${t.kind} of ${t.workload} skipped: ${reason}`,
        t.workload,
        { kind: t.kind, expression: t.expression },
      ),
    log: ctx.log.child({ component: "scheduler" }),
  });
}
