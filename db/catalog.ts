/**
 * Typed catalog queries. Writes go through one in-process queue: libsql file
 * connections are pooled and a second writer would hit SQLITE_BUSY while
 * blocking the event loop (stack.md §4).
 */
import { and, desc, eq, lt, or } from "drizzle-orm";
import type { CatalogDb } from "./client.ts";
import {
  events,
  leftovers,
  operations,
  remoteCopies,
  snapshots,
  workloadBlocks,
} from "./schema.ts";

export type SnapshotRow = typeof snapshots.$inferSelect;
export type NewSnapshotRow = typeof snapshots.$inferInsert;
export type OperationRow = typeof operations.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type LeftoverRow = typeof leftovers.$inferSelect;
export type RemoteCopyRow = typeof remoteCopies.$inferSelect;

/**
 * Snapshots and operations are scoped to this host: many hosts may share one
 * catalog (libsql://), and each only sees, reconciles and prunes the archives
 * in its own data dir.
 */
export class Catalog {
  #db: CatalogDb;
  #tail: Promise<unknown> = Promise.resolve();
  readonly host: string;

  constructor(db: CatalogDb, host: string) {
    this.#db = db;
    this.host = host;
  }

  /** Runs `fn` after every earlier write finished. */
  #write<T>(fn: (db: CatalogDb) => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => fn(this.#db));
    this.#tail = run.catch(() => {});
    return run;
  }

  /** For the stores of other concepts (db/*_store.ts): the one write queue, and reads. */
  write<T>(fn: (db: CatalogDb) => Promise<T>): Promise<T> {
    return this.#write(fn);
  }
  get db(): CatalogDb {
    return this.#db;
  }

  // ---- snapshots
  insertSnapshot(row: Omit<NewSnapshotRow, "host">): Promise<void> {
    return this.#write(async (db) => {
      await db.insert(snapshots).values({ ...row, host: this.host });
    });
  }
  #mine(id: string) {
    return and(eq(snapshots.id, id), eq(snapshots.host, this.host));
  }
  async getSnapshot(id: string): Promise<SnapshotRow | undefined> {
    return (await this.#db.select().from(snapshots).where(this.#mine(id)).limit(1))[0];
  }
  listSnapshots(workload: string): Promise<SnapshotRow[]> {
    return this.#db.select().from(snapshots)
      .where(and(eq(snapshots.workload, workload), eq(snapshots.host, this.host)))
      .orderBy(desc(snapshots.createdAt), desc(snapshots.id));
  }
  listAllSnapshots(): Promise<SnapshotRow[]> {
    return this.#db.select().from(snapshots).where(eq(snapshots.host, this.host));
  }
  deleteSnapshot(id: string): Promise<void> {
    return this.#write(async (db) => {
      await db.delete(snapshots).where(this.#mine(id));
    });
  }
  /** "" once the local file is gone and only off-host copies remain. */
  setSnapshotFile(id: string, file: string): Promise<void> {
    return this.#write(async (db) => {
      await db.update(snapshots).set({ file }).where(this.#mine(id));
    });
  }
  recordVerify(id: string, at: string, ok: boolean, error?: string): Promise<void> {
    return this.#write(async (db) => {
      await db.update(snapshots).set({
        lastVerifiedAt: at,
        lastVerifyOk: ok,
        lastVerifyError: error ?? null,
      }).where(this.#mine(id));
    });
  }

  // ---- operations
  insertOperation(row: Omit<typeof operations.$inferInsert, "host">): Promise<void> {
    return this.#write(async (db) => {
      await db.insert(operations).values({ ...row, host: this.host });
    });
  }
  #myOp(id: string) {
    return and(eq(operations.id, id), eq(operations.host, this.host));
  }
  updateOperation(id: string, patch: Partial<typeof operations.$inferInsert>): Promise<void> {
    return this.#write(async (db) => {
      await db.update(operations).set(patch).where(this.#myOp(id));
    });
  }
  async getOperation(id: string): Promise<OperationRow | undefined> {
    return (await this.#db.select().from(operations).where(this.#myOp(id)).limit(1))[0];
  }
  /** Marks operations left `running` by a previous process as interrupted. */
  markRunningInterrupted(at: string): Promise<OperationRow[]> {
    return this.#write(async (db) => {
      const mineRunning = and(eq(operations.state, "running"), eq(operations.host, this.host));
      const rows = await db.select().from(operations).where(mineRunning);
      if (rows.length) {
        await db.update(operations).set({
          state: "interrupted",
          finishedAt: at,
          error: { code: "interrupted", message: "volsnap stopped while this operation ran" },
        }).where(mineRunning);
      }
      return rows;
    });
  }

  setPinned(id: string, pinned: boolean): Promise<void> {
    return this.#write(async (db) => {
      await db.update(snapshots).set({ pinned }).where(this.#mine(id));
    });
  }

  // ---- events (this host's, and those recorded before events carried a host)
  addEvent(e: { time: string; workload?: string; kind: string; message: string; data?: unknown }) {
    return this.#write(async (db) => {
      await db.insert(events).values({
        ...e,
        host: this.host,
        workload: e.workload ?? null,
        data: e.data ?? null,
      });
    });
  }
  listEvents(opts: { workload?: string; limit: number; before?: number }): Promise<EventRow[]> {
    const conds = [or(eq(events.host, this.host), eq(events.host, ""))];
    if (opts.workload) conds.push(eq(events.workload, opts.workload));
    if (opts.before) conds.push(lt(events.id, opts.before));
    return this.#db.select().from(events).where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(events.id)).limit(opts.limit);
  }

  // ---- workloads whose recovery failed, per host
  #block(workload: string) {
    return and(eq(workloadBlocks.host, this.host), eq(workloadBlocks.workload, workload));
  }
  async getBlock(workload: string) {
    return (await this.#db.select().from(workloadBlocks).where(this.#block(workload)))[0];
  }
  listBlocks() {
    return this.#db.select().from(workloadBlocks).where(eq(workloadBlocks.host, this.host));
  }
  setBlock(workload: string, reason: string, since: string): Promise<void> {
    return this.#write(async (db) => {
      await db.insert(workloadBlocks).values({ host: this.host, workload, reason, since })
        .onConflictDoUpdate({
          target: [workloadBlocks.host, workloadBlocks.workload],
          set: { reason, since },
        });
    });
  }
  clearBlock(workload: string): Promise<void> {
    return this.#write(async (db) => {
      await db.delete(workloadBlocks).where(this.#block(workload));
    });
  }

  // ---- old dirs a restore had to keep (this host's)
  insertLeftover(row: Omit<LeftoverRow, "host">): Promise<void> {
    return this.#write(async (db) => {
      await db.insert(leftovers).values({ ...row, host: this.host });
    });
  }
  listLeftovers(workload?: string): Promise<LeftoverRow[]> {
    const mine = eq(leftovers.host, this.host);
    return this.#db.select().from(leftovers)
      .where(workload ? and(mine, eq(leftovers.workload, workload)) : mine)
      .orderBy(desc(leftovers.createdAt), desc(leftovers.id));
  }
  async getLeftover(id: string): Promise<LeftoverRow | undefined> {
    return (await this.#db.select().from(leftovers)
      .where(and(eq(leftovers.id, id), eq(leftovers.host, this.host))).limit(1))[0];
  }
  deleteLeftover(id: string): Promise<void> {
    return this.#write(async (db) => {
      await db.delete(leftovers).where(and(eq(leftovers.id, id), eq(leftovers.host, this.host)));
    });
  }

  // ---- off-host copies (this host's rows only)
  #myCopy(snapshotId: string, location: string) {
    return and(
      eq(remoteCopies.snapshotId, snapshotId),
      eq(remoteCopies.host, this.host),
      eq(remoteCopies.location, location),
    );
  }
  upsertRemoteCopy(row: Omit<RemoteCopyRow, "host">): Promise<void> {
    return this.#write(async (db) => {
      const { snapshotId: _s, location: _l, ...rest } = row;
      await db.insert(remoteCopies).values({ ...row, host: this.host }).onConflictDoUpdate({
        target: [remoteCopies.snapshotId, remoteCopies.host, remoteCopies.location],
        set: rest,
      });
    });
  }
  updateRemoteCopy(
    snapshotId: string,
    location: string,
    patch: Partial<Omit<RemoteCopyRow, "host" | "snapshotId" | "location">>,
  ): Promise<void> {
    return this.#write(async (db) => {
      await db.update(remoteCopies).set(patch).where(this.#myCopy(snapshotId, location));
    });
  }
  async getRemoteCopy(snapshotId: string, location: string): Promise<RemoteCopyRow | undefined> {
    return (await this.#db.select().from(remoteCopies).where(this.#myCopy(snapshotId, location))
      .limit(1))[0];
  }
  listRemoteCopies(location?: string): Promise<RemoteCopyRow[]> {
    return this.#db.select().from(remoteCopies).where(
      location
        ? and(eq(remoteCopies.host, this.host), eq(remoteCopies.location, location))
        : eq(remoteCopies.host, this.host),
    );
  }
  deleteRemoteCopy(snapshotId: string, location: string): Promise<void> {
    return this.#write(async (db) => {
      await db.delete(remoteCopies).where(this.#myCopy(snapshotId, location));
    });
  }
}
