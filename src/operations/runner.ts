/**
 * Runs prepared long operations (capture, restore, import, verify) and keeps
 * their state: live progress in memory, durable state in the catalog
 * (progress written at most once a second, the outcome always).
 */
import type { Catalog, OperationRow } from "../../db/catalog.ts";
import type { Clock } from "../core/clock.ts";
import type { PreparedOperation } from "../engine/types.ts";
import { AppError, errMessage, toAppError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

export type OperationState = "running" | "succeeded" | "failed" | "interrupted";

export interface OperationView {
  id: string;
  kind: string;
  workload: string | null;
  snapshotId: string | null;
  state: OperationState;
  phase: string;
  bytesDone: number;
  bytesTotal: number | null;
  result: unknown;
  error: { code: string; message: string } | null;
  startedAt: string;
  finishedAt: string | null;
}

const PROGRESS_WRITE_INTERVAL_MS = 1000;

interface Live {
  view: OperationView;
  lastWriteMs: number;
  timer?: ReturnType<typeof setTimeout>;
  done: Promise<unknown>;
  abort: AbortController;
}

export function newOperationId(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return "op_" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** What newOperationId() makes; the API refuses anything else as an operation id. */
export const OPERATION_ID_PATTERN = /^op_[0-9a-f]{16}$/;

export class OperationRunner {
  #catalog: Catalog;
  #clock: Clock;
  #log: Logger;
  #live = new Map<string, Live>();

  constructor(catalog: Catalog, clock: Clock, log: Logger) {
    this.#catalog = catalog;
    this.#clock = clock;
    this.#log = log;
  }

  /**
   * Starts `op` at once. `done` settles with the operation's own outcome after
   * the catalog row says so; a rejection is marked handled here, so callers
   * that only poll never cause an unhandled rejection.
   */
  start<T>(op: PreparedOperation<T>): { id: string; done: Promise<T> } {
    const id = newOperationId();
    const view: OperationView = {
      id,
      kind: op.kind,
      workload: op.workload ?? null,
      snapshotId: op.snapshotId ?? null,
      state: "running",
      phase: "starting",
      bytesDone: 0,
      bytesTotal: null,
      result: null,
      error: null,
      startedAt: this.#clock.now().toISOString(),
      finishedAt: null,
    };
    const live: Live = {
      view,
      lastWriteMs: this.#clock.monotonicMs(),
      done: Promise.resolve(),
      abort: new AbortController(),
    };
    this.#live.set(id, live);
    const log = this.#log.child({ op: id, kind: op.kind, workload: view.workload });
    const done = this.#execute(op, live, log);
    live.done = done.catch(() => {});
    done.catch(() => {});
    return { id, done };
  }

  async #execute<T>(op: PreparedOperation<T>, live: Live, log: Logger): Promise<T> {
    const { view } = live;
    try {
      await this.#catalog.insertOperation({
        id: view.id,
        kind: view.kind,
        workload: view.workload,
        snapshotId: view.snapshotId,
        state: "running",
        phase: view.phase,
        bytesDone: 0,
        startedAt: view.startedAt,
      });
    } catch (err) {
      // Without a row nobody could follow the operation: do not run it.
      op.cancel();
      this.#live.delete(view.id);
      log.error("could not record operation; not started", { error: errMessage(err) });
      throw err;
    }
    log.info("operation started");
    try {
      const result = await op.run({
        id: view.id,
        progress: (p) => this.#progress(live, p),
        signal: live.abort.signal,
      });
      await this.#finish(live, { state: "succeeded", result });
      log.info("operation succeeded");
      return result;
    } catch (err) {
      const e = toAppError(err);
      if (e.code === "internal") {
        log.error("operation failed", { error: e.message, stack: (err as Error)?.stack });
      } else log.warn("operation failed", { code: e.code, error: e.message });
      await this.#finish(live, { state: "failed", error: { code: e.code, message: e.message } });
      throw err;
    }
  }

  #progress(live: Live, p: { phase?: string; bytesDone?: number; bytesTotal?: number }) {
    const v = live.view;
    if (v.state !== "running") return;
    if (p.phase !== undefined) v.phase = p.phase;
    if (p.bytesDone !== undefined) v.bytesDone = p.bytesDone;
    if (p.bytesTotal !== undefined) v.bytesTotal = p.bytesTotal;
    if (live.timer !== undefined) return;
    const wait = live.lastWriteMs + PROGRESS_WRITE_INTERVAL_MS - this.#clock.monotonicMs();
    live.timer = setTimeout(() => {
      live.timer = undefined;
      if (v.state !== "running") return;
      live.lastWriteMs = this.#clock.monotonicMs();
      this.#catalog.updateOperation(v.id, {
        phase: v.phase,
        bytesDone: v.bytesDone,
        bytesTotal: v.bytesTotal,
      }).catch((err) =>
        this.#log.warn("could not record progress", { op: v.id, error: errMessage(err) })
      );
    }, Math.max(0, wait));
  }

  async #finish(
    live: Live,
    outcome: { state: "succeeded"; result: unknown } | {
      state: "failed";
      error: { code: string; message: string };
    },
  ) {
    const v = live.view;
    if (live.timer !== undefined) clearTimeout(live.timer);
    live.timer = undefined;
    v.state = outcome.state;
    v.phase = outcome.state === "succeeded" ? "done" : "failed";
    v.finishedAt = this.#clock.now().toISOString();
    if (outcome.state === "succeeded") v.result = outcome.result ?? null;
    else v.error = outcome.error;
    try {
      await this.#catalog.updateOperation(v.id, {
        state: v.state,
        phase: v.phase,
        bytesDone: v.bytesDone,
        bytesTotal: v.bytesTotal,
        result: v.result,
        error: v.error,
        finishedAt: v.finishedAt,
      });
      this.#live.delete(v.id);
    } catch (err) {
      // Keep serving the outcome from memory; the sweep marks the row interrupted on restart.
      this.#log.error("could not record operation outcome", { op: v.id, error: errMessage(err) });
    }
  }

  /** Live in-memory state wins over the (throttled) catalog row. */
  async get(id: string): Promise<OperationView | undefined> {
    const live = this.#live.get(id);
    if (live) return { ...live.view };
    const row = await this.#catalog.getOperation(id);
    return row ? rowToView(row) : undefined;
  }

  /** Number of operations still running in this process. */
  get running(): number {
    let n = 0;
    for (const l of this.#live.values()) if (l.view.state === "running") n++;
    return n;
  }

  /**
   * Asks every running operation to stop (server shutdown). Each stops at its
   * next safe point and brings back what it quiesced; await settle() after.
   */
  cancelAll(reason = "volsnap is shutting down"): void {
    for (const l of this.#live.values()) {
      if (l.view.state === "running") l.abort.abort(new AppError("interrupted", reason));
    }
  }

  /** Waits until every running operation settled or `timeoutMs` passed; true when all settled. */
  async settle(timeoutMs: number): Promise<boolean> {
    const all = Promise.all([...this.#live.values()].map((l) => l.done)).then(() => true);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((r) => timer = setTimeout(() => r(false), timeoutMs));
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export function rowToView(row: OperationRow): OperationView {
  return {
    id: row.id,
    kind: row.kind,
    workload: row.workload,
    snapshotId: row.snapshotId,
    state: row.state as OperationState,
    phase: row.phase,
    bytesDone: row.bytesDone,
    bytesTotal: row.bytesTotal,
    result: row.result ?? null,
    error: row.error ?? null,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}
