/**
 * Typed catalog queries. Writes go through one in-process queue: libsql file
 * connections are pooled and a second writer would hit SQLITE_BUSY while
 * blocking the event loop (stack.md §4).
 */
import { and, desc, eq, lt } from "drizzle-orm";
import type { CatalogDb } from "./client.ts";
import { events, operations, snapshots, workloadBlocks } from "./schema.ts";

export type SnapshotRow = typeof snapshots.$inferSelect;
export type NewSnapshotRow = typeof snapshots.$inferInsert;
export type OperationRow = typeof operations.$inferSelect;
export type EventRow = typeof events.$inferSelect;

export class Catalog {
  #db: CatalogDb;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(db: CatalogDb) {
    this.#db = db;
  }

  /** Runs `fn` after every earlier write finished. */
  #write<T>(fn: (db: CatalogDb) => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => fn(this.#db));
    this.#tail = run.catch(() => {});
    return run;
  }

  // ---- snapshots
  insertSnapshot(row: NewSnapshotRow): Promise<void> {
    return this.#write(async (db) => {
      await db.insert(snapshots).values(row);
    });
  }
  async getSnapshot(id: string): Promise<SnapshotRow | undefined> {
    return (await this.#db.select().from(snapshots).where(eq(snapshots.id, id)).limit(1))[0];
  }
  listSnapshots(workload: string): Promise<SnapshotRow[]> {
    return this.#db.select().from(snapshots).where(eq(snapshots.workload, workload))
      .orderBy(desc(snapshots.createdAt), desc(snapshots.id));
  }
  listAllSnapshots(): Promise<SnapshotRow[]> {
    return this.#db.select().from(snapshots);
  }
  deleteSnapshot(id: string): Promise<void> {
    return this.#write(async (db) => {
      await db.delete(snapshots).where(eq(snapshots.id, id));
    });
  }
  recordVerify(id: string, at: string, ok: boolean, error?: string): Promise<void> {
    return this.#write(async (db) => {
      await db.update(snapshots).set({
        lastVerifiedAt: at,
        lastVerifyOk: ok,
        lastVerifyError: error ?? null,
      }).where(eq(snapshots.id, id));
    });
  }

  // ---- operations
  insertOperation(row: typeof operations.$inferInsert): Promise<void> {
    return this.#write(async (db) => {
      await db.insert(operations).values(row);
    });
  }
  updateOperation(id: string, patch: Partial<typeof operations.$inferInsert>): Promise<void> {
    return this.#write(async (db) => {
      await db.update(operations).set(patch).where(eq(operations.id, id));
    });
  }
  async getOperation(id: string): Promise<OperationRow | undefined> {
    return (await this.#db.select().from(operations).where(eq(operations.id, id)).limit(1))[0];
  }
  /** Marks operations left `running` by a previous process as interrupted. */
  markRunningInterrupted(at: string): Promise<OperationRow[]> {
    return this.#write(async (db) => {
      const rows = await db.select().from(operations).where(eq(operations.state, "running"));
      if (rows.length) {
        await db.update(operations).set({
          state: "interrupted",
          finishedAt: at,
          error: { code: "interrupted", message: "volsnap stopped while this operation ran" },
        }).where(eq(operations.state, "running"));
      }
      return rows;
    });
  }

  // ---- events
  addEvent(e: { time: string; workload?: string; kind: string; message: string; data?: unknown }) {
    return this.#write(async (db) => {
      await db.insert(events).values({ ...e, workload: e.workload ?? null, data: e.data ?? null });
    });
  }
  listEvents(opts: { workload?: string; limit: number; before?: number }): Promise<EventRow[]> {
    const conds = [];
    if (opts.workload) conds.push(eq(events.workload, opts.workload));
    if (opts.before) conds.push(lt(events.id, opts.before));
    return this.#db.select().from(events).where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(events.id)).limit(opts.limit);
  }

  // ---- workloads whose recovery failed
  async getBlock(workload: string) {
    return (await this.#db.select().from(workloadBlocks).where(eq(workloadBlocks.workload, workload)))[0];
  }
  setBlock(workload: string, reason: string, since: string): Promise<void> {
    return this.#write(async (db) => {
      await db.insert(workloadBlocks).values({ workload, reason, since })
        .onConflictDoUpdate({ target: workloadBlocks.workload, set: { reason, since } });
    });
  }
  clearBlock(workload: string): Promise<void> {
    return this.#write(async (db) => {
      await db.delete(workloadBlocks).where(eq(workloadBlocks.workload, workload));
    });
  }
}
