/**
 * Catalog access for schedules, the notification outbox, pins, drills and
 * the metrics page. Writes go through the Catalog's one write queue; every
 * row is scoped to this host like snapshots are.
 */
import { and, asc, eq, lte, sql } from "drizzle-orm";
import type { Catalog } from "./catalog.ts";
import { notifyOutbox, schedules, snapshots } from "./schema.ts";
import type { ScheduleKind, ScheduleState, ScheduleStore } from "../src/schedule/scheduler.ts";
import type { OutboxRow, OutboxStore } from "../src/notify/outbox.ts";
import type { NotifyMessage } from "../src/notify/targets.ts";
import type { WorkloadSnapshotStats } from "../src/metrics/render.ts";

export function scheduleStore(catalog: Catalog): ScheduleStore {
  const host = catalog.host;
  return {
    async list() {
      const rows = await catalog.db.select().from(schedules).where(eq(schedules.host, host))
        .orderBy(asc(schedules.workload), asc(schedules.kind));
      return rows.map(({ host: _h, ...r }) => ({ ...r, kind: r.kind as ScheduleKind }));
    },
    put(s: ScheduleState) {
      return catalog.write(async (db) => {
        const row = { ...s, host };
        await db.insert(schedules).values(row).onConflictDoUpdate({
          target: [schedules.host, schedules.workload, schedules.kind],
          set: {
            expression: s.expression,
            nextRunAt: s.nextRunAt,
            lastRunAt: s.lastRunAt,
            lastResult: s.lastResult,
          },
        });
      });
    },
    remove(workload: string, kind: ScheduleKind) {
      return catalog.write(async (db) => {
        await db.delete(schedules).where(
          and(eq(schedules.host, host), eq(schedules.workload, workload), eq(schedules.kind, kind)),
        );
      });
    },
  };
}

export function outboxStore(catalog: Catalog): OutboxStore {
  const host = catalog.host;
  const mine = (id: number) => and(eq(notifyOutbox.id, id), eq(notifyOutbox.host, host));
  return {
    add(rows) {
      return catalog.write(async (db) => {
        await db.insert(notifyOutbox).values(rows.map((r) => ({
          host,
          target: r.target,
          message: r.message,
          createdAt: r.createdAt,
          nextAttemptAt: r.createdAt,
        })));
      });
    },
    async due(now, limit): Promise<OutboxRow[]> {
      const rows = await catalog.db.select().from(notifyOutbox).where(and(
        eq(notifyOutbox.host, host),
        eq(notifyOutbox.state, "pending"),
        lte(notifyOutbox.nextAttemptAt, now),
      )).orderBy(asc(notifyOutbox.id)).limit(limit);
      return rows.map((r) => ({
        id: r.id,
        target: r.target,
        message: r.message as NotifyMessage,
        attempts: r.attempts,
        nextAttemptAt: r.nextAttemptAt,
      }));
    },
    delivered(id, at) {
      return catalog.write(async (db) => {
        await db.update(notifyOutbox).set({
          state: "delivered",
          deliveredAt: at,
          attempts: sql`${notifyOutbox.attempts} + 1`,
        })
          .where(mine(id));
      });
    },
    retryLater(id, attempts, nextAttemptAt, error) {
      return catalog.write(async (db) => {
        await db.update(notifyOutbox).set({ attempts, nextAttemptAt, lastError: error })
          .where(mine(id));
      });
    },
    giveUp(id, attempts, error) {
      return catalog.write(async (db) => {
        await db.update(notifyOutbox).set({ state: "failed", attempts, lastError: error })
          .where(mine(id));
      });
    },
  };
}

export function setPinned(catalog: Catalog, sid: string, pinned: boolean): Promise<void> {
  return catalog.write(async (db) => {
    await db.update(snapshots).set({ pinned })
      .where(and(eq(snapshots.id, sid), eq(snapshots.host, catalog.host)));
  });
}

export function recordContentDigest(
  catalog: Catalog,
  sid: string,
  digest: Record<string, string>,
): Promise<void> {
  return catalog.write(async (db) => {
    await db.update(snapshots).set({ contentDigest: digest })
      .where(and(eq(snapshots.id, sid), eq(snapshots.host, catalog.host)));
  });
}

export function recordDrill(
  catalog: Catalog,
  sid: string,
  at: string,
  ok: boolean,
  error?: string,
): Promise<void> {
  return catalog.write(async (db) => {
    await db.update(snapshots).set({
      lastDrillAt: at,
      lastDrillOk: ok,
      lastDrillError: error ?? null,
    }).where(and(eq(snapshots.id, sid), eq(snapshots.host, catalog.host)));
  });
}

/** The id of the newest snapshot of `workload` whose drill passed. */
export async function lastVerifiedRestorable(
  catalog: Catalog,
  workload: string,
): Promise<{ id: string; createdAt: string; lastDrillAt: string } | undefined> {
  const rows = await catalog.db.select({
    id: snapshots.id,
    createdAt: snapshots.createdAt,
    lastDrillAt: snapshots.lastDrillAt,
  }).from(snapshots).where(and(
    eq(snapshots.host, catalog.host),
    eq(snapshots.workload, workload),
    eq(snapshots.lastDrillOk, true),
  )).orderBy(sql`${snapshots.createdAt} desc`).limit(1);
  const r = rows[0];
  return r ? { id: r.id, createdAt: r.createdAt, lastDrillAt: r.lastDrillAt ?? "" } : undefined;
}

/** Everything /metrics shows that lives in the catalog, in four aggregate queries. */
export async function metricsFromCatalog(catalog: Catalog) {
  const host = catalog.host;
  const client = catalog.db.$client;
  const newest = await client.execute({
    sql: `SELECT s.workload, s.created_at, s.size_bytes, s.downtime_ms, s.duration_ms
      FROM snapshots s
      JOIN (SELECT workload, MAX(created_at) AS c FROM snapshots
            WHERE host = ? AND origin IN ('capture','scheduled') AND status = 'complete'
            GROUP BY workload) n ON n.workload = s.workload AND n.c = s.created_at
      WHERE s.host = ? AND s.origin IN ('capture','scheduled')`,
    args: [host, host],
  });
  const ops = await client.execute({
    sql: `SELECT kind, state, COUNT(*) AS n FROM operations
      WHERE host = ? AND state != 'running' GROUP BY kind, state`,
    args: [host],
  });
  const drills = await client.execute({
    sql: `SELECT workload,
        MAX(CASE WHEN last_drill_ok = 1 THEN last_drill_at END) AS last_ok_at,
        (SELECT d.last_drill_ok FROM snapshots d WHERE d.host = s.host AND d.workload = s.workload
           AND d.last_drill_at IS NOT NULL ORDER BY d.last_drill_at DESC LIMIT 1) AS last_ok
      FROM snapshots s WHERE host = ? AND last_drill_at IS NOT NULL GROUP BY workload`,
    args: [host],
  });
  const blocked = await catalog.listBlocks();
  const snapshotsOut: WorkloadSnapshotStats[] = [];
  const seen = new Set<string>();
  for (const r of newest.rows) {
    const workload = String(r.workload);
    if (seen.has(workload)) continue;
    seen.add(workload);
    snapshotsOut.push({
      workload,
      lastSuccessAt: String(r.created_at),
      sizeBytes: Number(r.size_bytes),
      downtimeSeconds: r.downtime_ms === null ? null : Number(r.downtime_ms) / 1000,
      durationSeconds: r.duration_ms === null ? null : Number(r.duration_ms) / 1000,
    });
  }
  return {
    snapshots: snapshotsOut,
    operations: ops.rows.map((r) => ({
      kind: String(r.kind),
      result: String(r.state),
      count: Number(r.n),
    })),
    drills: drills.rows.map((r) => ({
      workload: String(r.workload),
      lastSuccessAt: r.last_ok_at === null ? null : String(r.last_ok_at),
      lastOk: Number(r.last_ok) === 1,
    })),
    blocked: blocked.map((b) => b.workload),
  };
}
