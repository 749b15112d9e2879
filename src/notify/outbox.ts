/**
 * Durable notification outbox (SPEC §11).
 *
 *   enqueue(message) → one catalog row per target that takes it (never waits
 *                      for delivery, never throws into the caller)
 *   deliver loop     → due rows: build the request, POST with a timeout;
 *                      2xx → delivered; otherwise attempts+1 and the next
 *                      try after 1 s, 2 s, 4 s … (at most 5 min), given up
 *                      after MAX_ATTEMPTS
 *
 * Rows survive a restart, so what was not delivered is delivered by the next
 * process. A row names its target by id (a keyed hash of the URL), never the
 * URL: target URLs carry secrets and the catalog may be shared.
 */
import { errMessage } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import {
  buildRequest,
  type NotifyMessage,
  type NotifyTarget,
  type OutgoingRequest,
} from "./targets.ts";

export interface OutboxRow {
  id: number;
  target: string;
  message: NotifyMessage;
  attempts: number;
  nextAttemptAt: string;
}

export interface OutboxStore {
  add(rows: { target: string; message: NotifyMessage; createdAt: string }[]): Promise<void>;
  due(now: string, limit: number): Promise<OutboxRow[]>;
  delivered(id: number, at: string): Promise<void>;
  retryLater(id: number, attempts: number, nextAttemptAt: string, error: string): Promise<void>;
  giveUp(id: number, attempts: number, error: string): Promise<void>;
}

export type NotifyOn = "failure" | "all";

export interface OutboxDeps {
  targets: NotifyTarget[];
  secret?: string;
  on: NotifyOn;
  store: OutboxStore;
  now(): Date;
  log: Logger;
  fetch?: (req: OutgoingRequest, signal: AbortSignal) => Promise<{ status: number }>;
  /** First retry delay (ms); doubles per attempt. */
  retryBaseMs?: number;
  timeoutMs?: number;
}

export const MAX_ATTEMPTS = 12;
const MAX_DELAY_MS = 5 * 60_000;

async function realFetch(req: OutgoingRequest, signal: AbortSignal) {
  const r = await fetch(req.url, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    signal,
    redirect: "manual",
  });
  await r.body?.cancel();
  return { status: r.status };
}

export class Outbox {
  readonly #d: OutboxDeps;
  #timer?: ReturnType<typeof setTimeout>;
  #running?: Promise<void>;
  #again = false;
  #stopped = false;

  constructor(deps: OutboxDeps) {
    this.#d = deps;
  }

  get enabled(): boolean {
    return this.#d.targets.length > 0;
  }

  /** Which targets take `m` (healthchecks always hear of captures, to see successes). */
  recipients(m: NotifyMessage): NotifyTarget[] {
    return this.#d.targets.filter((t) => {
      if (!buildRequest(t, m)) return false;
      if (t.type === "healthchecks") return true;
      return !m.start && (this.#d.on === "all" || !m.ok);
    });
  }

  /** Stores `m` for delivery; errors are logged, never thrown. */
  async enqueue(m: NotifyMessage): Promise<void> {
    const to = this.recipients(m);
    if (!to.length) return;
    try {
      const createdAt = this.#d.now().toISOString();
      await this.#d.store.add(to.map((t) => ({ target: t.id, message: m, createdAt })));
      this.kick();
    } catch (err) {
      this.#d.log.error("cannot queue a notification", { event: m.event, error: errMessage(err) });
    }
  }

  /** Delivers due rows now (coalesces concurrent calls). */
  kick(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#pass().catch((err) =>
          this.#d.log.error("notification delivery failed", { error: errMessage(err) })
        );
      } while (this.#again && !this.#stopped);
    })().finally(() => this.#running = undefined);
    return this.#running;
  }

  /** Delivers every `intervalMs` (retries fall due while idle). */
  start(intervalMs = 1000): void {
    if (!this.enabled) return;
    const loop = async () => {
      await this.kick();
      if (!this.#stopped) this.#timer = setTimeout(loop, intervalMs);
    };
    this.#timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #pass() {
    const byId = new Map(this.#d.targets.map((t) => [t.id, t]));
    for (;;) {
      const rows = await this.#d.store.due(this.#d.now().toISOString(), 20);
      if (!rows.length || this.#stopped) return;
      for (const row of rows) await this.#deliver(row, byId.get(row.target));
      if (rows.length < 20) return;
    }
  }

  async #deliver(row: OutboxRow, target: NotifyTarget | undefined) {
    const { store } = this.#d;
    if (!target) {
      await store.giveUp(row.id, row.attempts, "target no longer configured");
      return;
    }
    const req = buildRequest(target, row.message, this.#d.secret);
    if (!req) {
      await store.giveUp(row.id, row.attempts, "target does not take this message");
      return;
    }
    const attempts = row.attempts + 1;
    let error: string;
    try {
      const signal = AbortSignal.timeout(this.#d.timeoutMs ?? 10_000);
      const { status } = await (this.#d.fetch ?? realFetch)(req, signal);
      if (status >= 200 && status < 300) {
        await store.delivered(row.id, this.#d.now().toISOString());
        return;
      }
      error = `HTTP ${status}`;
    } catch (err) {
      // The URL may hold a secret: report the error's name, not its text.
      error = err instanceof Error && err.name === "TimeoutError" ? "timed out" : "request failed";
    }
    this.#d.log.warn("notification not delivered", { target: target.label, attempts, error });
    if (attempts >= MAX_ATTEMPTS) {
      await store.giveUp(row.id, attempts, error);
      return;
    }
    const delay = Math.min((this.#d.retryBaseMs ?? 1000) * 2 ** (attempts - 1), MAX_DELAY_MS);
    await store.retryLater(
      row.id,
      attempts,
      new Date(this.#d.now().getTime() + delay).toISOString(),
      error,
    );
  }
}
