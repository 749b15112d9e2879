/**
 * The scheduler (SPEC §10). Each tick:
 *
 *   targets ← labels of every workload (cached for `refreshMs`)
 *   for each target (workload, kind, expression):
 *     no state, or the expression changed → nextRunAt = next(now); no run
 *     nextRunAt ≤ now → record lastRunAt = now, nextRunAt = next(now) FIRST,
 *                        then start the run (not awaited)
 *   state of targets that disappeared → removed
 *
 * Because the next due time is always computed from `now`, a server that was
 * down over several due times runs exactly one catch-up, never one per missed
 * slot. A run that falls due while the workload is busy (its own previous run
 * still going, or any other operation holding the lock) is skipped and
 * recorded, never queued. The state is written before the run starts so a
 * crash during a run does not cause a second catch-up.
 */
import { errMessage } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { nextRunAfter, parseSchedule, type ScheduleSpec } from "./spec.ts";

export type ScheduleKind = "snapshot" | "drill";

export interface ScheduleTarget {
  workload: string;
  kind: ScheduleKind;
  expression: string;
}

/** One row of the catalog's `schedules` table. */
export interface ScheduleState extends ScheduleTarget {
  nextRunAt: string | null;
  lastRunAt: string | null;
  /** "ok", "failed: …", "skipped: busy", "invalid: …", or null before the first run. */
  lastResult: string | null;
}

export interface ScheduleStore {
  list(): Promise<ScheduleState[]>;
  put(s: ScheduleState): Promise<void>;
  remove(workload: string, kind: ScheduleKind): Promise<void>;
}

/** `busy`: the workload was locked; the run was skipped. */
export type RunOutcome = { ok: true } | { ok: false; busy?: boolean; message: string };

export interface SchedulerDeps {
  now(): Date;
  store: ScheduleStore;
  /** Current targets (from labels and the configured default). */
  targets(): Promise<ScheduleTarget[]>;
  /** Runs one scheduled capture or drill to its end. */
  run(target: ScheduleTarget): Promise<RunOutcome>;
  /** Called when a due run was skipped because the workload was busy. */
  skipped(target: ScheduleTarget, reason: string): Promise<void>;
  log: Logger;
  /** How long discovered targets are reused (ms). */
  refreshMs?: number;
}

const key = (t: { workload: string; kind: string }) => `${t.kind}\u0000${t.workload}`;

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #inFlight = new Map<string, Promise<void>>();
  #targets?: { at: number; list: ScheduleTarget[] };
  #timer?: ReturnType<typeof setTimeout>;
  #ticking = false;
  #stopped = false;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
  }

  /** Runs `tick()` every `intervalMs` until `stop()`. */
  start(intervalMs = 1000): void {
    const loop = async () => {
      if (this.#stopped) return;
      await this.tick().catch((err) =>
        this.#deps.log.error("scheduler tick failed", { error: errMessage(err) })
      );
      if (!this.#stopped) this.#timer = setTimeout(loop, intervalMs);
    };
    this.#timer = setTimeout(loop, 0);
  }

  /** Stops ticking; resolves when runs already started have ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Runs that were started and have not ended yet. */
  get running(): number {
    return this.#inFlight.size;
  }

  /** Resolves when every started run has ended (tests). */
  async idle(): Promise<void> {
    while (this.#inFlight.size) await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Forgets cached targets, so the next tick reads labels again. */
  refresh(): void {
    this.#targets = undefined;
  }

  /** One pass over every target; starts due runs without waiting for them. */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      await this.#tick();
    } finally {
      this.#ticking = false;
    }
  }

  async #tick() {
    const now = this.#deps.now();
    const targets = await this.#currentTargets(now);
    const states = new Map((await this.#deps.store.list()).map((s) => [key(s), s]));
    for (const t of targets) {
      const state = states.get(key(t));
      states.delete(key(t));
      let spec: ScheduleSpec | null;
      try {
        spec = parseSchedule(t.expression);
      } catch (err) {
        const lastResult = `invalid: ${errMessage(err)}`;
        if (state?.lastResult !== lastResult || state.expression !== t.expression) {
          await this.#deps.store.put({
            ...t,
            nextRunAt: null,
            lastRunAt: state?.lastRunAt ?? null,
            lastResult,
          });
        }
        continue;
      }
      if (!spec) continue;
      if (!state || state.expression !== t.expression || !state.nextRunAt) {
        await this.#deps.store.put({
          ...t,
          nextRunAt: nextRunAfter(spec, now).toISOString(),
          lastRunAt: state?.lastRunAt ?? null,
          lastResult: state?.expression === t.expression ? state.lastResult : null,
        });
        continue;
      }
      if (Date.parse(state.nextRunAt) > now.getTime()) continue;
      const due: ScheduleState = {
        ...t,
        nextRunAt: nextRunAfter(spec, now).toISOString(),
        lastRunAt: now.toISOString(),
        lastResult: state.lastResult,
      };
      if (this.#inFlight.has(key(t))) {
        await this.#skip(due, "its previous scheduled run is still going");
        continue;
      }
      await this.#deps.store.put(due);
      this.#launch(due);
    }
    // Workloads (or labels) that are gone: their state goes too.
    for (const s of states.values()) await this.#deps.store.remove(s.workload, s.kind);
  }

  async #currentTargets(now: Date): Promise<ScheduleTarget[]> {
    const refreshMs = this.#deps.refreshMs ?? 15_000;
    if (!this.#targets || now.getTime() - this.#targets.at >= refreshMs) {
      this.#targets = { at: now.getTime(), list: await this.#deps.targets() };
    }
    return this.#targets.list;
  }

  async #skip(due: ScheduleState, reason: string) {
    await this.#deps.store.put({ ...due, lastResult: "skipped: busy" });
    await this.#deps.skipped(due, reason);
  }

  #launch(due: ScheduleState) {
    const done = (async () => {
      let outcome: RunOutcome;
      try {
        outcome = await this.#deps.run(due);
      } catch (err) {
        outcome = { ok: false, message: errMessage(err) };
      }
      if (!outcome.ok && outcome.busy) {
        await this.#skip(due, outcome.message);
      } else {
        await this.#deps.store.put({
          ...due,
          lastResult: outcome.ok ? "ok" : `failed: ${outcome.message}`,
        });
      }
    })().catch((err) =>
      this.#deps.log.error("cannot record a scheduled run", { error: errMessage(err) })
    ).finally(() => this.#inFlight.delete(key(due)));
    this.#inFlight.set(key(due), done);
  }
}
