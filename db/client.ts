/**
 * Opens the catalog (local libsql file or a libsql:// / http(s):// URL) and
 * applies the embedded migrations, so the compiled binary carries them.
 */
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import * as schema from "./schema.ts";
import initSql from "./migrations/0000_init.sql" with { type: "text" };
import hostScopeSql from "./migrations/0001_host_scope.sql" with { type: "text" };
import guardsSql from "./migrations/0002_guards.sql" with { type: "text" };
import opsSql from "./migrations/0003_ops.sql" with { type: "text" };
import remoteSql from "./migrations/0004_remote.sql" with { type: "text" };
import framesSql from "./migrations/0005_frames.sql" with { type: "text" };
import journal from "./migrations/meta/_journal.json" with { type: "json" };

export type CatalogDb = ReturnType<typeof drizzle<typeof schema>>;

const MIGRATIONS: Record<string, string> = {
  "0000_init": initSql,
  "0001_host_scope": hostScopeSql,
  "0002_guards": guardsSql,
  "0003_ops": opsSql,
  "0004_remote": remoteSql,
  "0005_frames": framesSql,
};

export async function openCatalogDb(url: string): Promise<{ db: CatalogDb; close(): void }> {
  const client = createClient({ url, timeout: 5000 });
  if (url.startsWith("file:")) {
    await client.execute("PRAGMA journal_mode=WAL");
    await client.execute("PRAGMA synchronous=FULL");
  }
  await migrate(client);
  return { db: drizzle(client, { schema }), close: () => client.close() };
}

async function migrate(client: ReturnType<typeof createClient>): Promise<void> {
  await client.execute(
    "CREATE TABLE IF NOT EXISTS __volsnap_migrations (tag TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
  );
  const done = new Set(
    (await client.execute("SELECT tag FROM __volsnap_migrations")).rows.map((r) => String(r.tag)),
  );
  for (const entry of journal.entries) {
    if (done.has(entry.tag)) continue;
    const sql = MIGRATIONS[entry.tag];
    if (!sql) throw new Error(`migration ${entry.tag} is not embedded in this build`);
    const statements = sql.split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean);
    await client.batch([
      ...statements,
      {
        sql: "INSERT INTO __volsnap_migrations (tag, applied_at) VALUES (?, ?)",
        args: [entry.tag, new Date().toISOString()],
      },
    ], "write");
  }
}
