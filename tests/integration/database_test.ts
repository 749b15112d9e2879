/**
 * A real database engine survives snapshot → change → restore: SQLite (from
 * Debian, inside the test image) writing continuously in WAL mode into a
 * volume whose root is owned 70:70 with mode 0700, like a database's data dir.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { dockerCli, DockerScratch } from "../_helpers/docker_cli.ts";
import { containerState, volumeMountpoint } from "../_helpers/fixtures.ts";
import { TestServer } from "../_helpers/server.ts";

const sql = async (container: string, q: string) =>
  // Wait for the writer's lock instead of failing with "database is locked".
  (await dockerCli([
    "exec",
    container,
    "sqlite3",
    "-cmd",
    ".timeout 10000",
    "/var/lib/db/app.db",
    q,
  ]))
    .stdout;

/** A container command: one long-lived WAL connection running `insert` (shell-quoted) every `pause` s. */
function sqliteWriter(columns: string, insert: string, pause: number): string[] {
  return [
    "sh",
    "-c",
    `sqlite3 /var/lib/db/app.db 'PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, ${columns});' >/dev/null; ` +
    `trap 'exit 0' TERM; (while :; do echo ${insert}; sleep ${pause}; done) | sqlite3 -cmd '.timeout 10000' /var/lib/db/app.db & wait`,
  ];
}

async function hostSql(dbFile: string, q: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", {
    args: [dbFile, q],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("SQLite under continuous writes: restore gives the exact snapshot state and a clean database", async () => {
  const scratch = new DockerScratch("vs-db");
  const server = await TestServer.start();
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("pgdata");
    const dir = await volumeMountpoint(vol);
    Deno.chownSync(dir, 70, 70);
    Deno.chmodSync(dir, 0o700);
    // A long-lived connection in WAL mode inserting a row every 10 ms.
    const writer = sqliteWriter("v BLOB", "'INSERT INTO t(v) VALUES (randomblob(300));'", 0.01);
    const db = await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/var/lib/db`],
      cmd: writer,
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert(Number(await sql(db, "SELECT count(*) FROM t")) > 10, "the writer is writing");

    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const sid = cap.json.snapshot.id;
    assert(cap.json.snapshot.downtimeMs >= 0, "downtime recorded");

    // What the snapshot holds, read with GNU tar and the host's sqlite3.
    const dl = await fetch(`${server.url}/api/v1/snapshots/${sid}/archive`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    const archive = join(await Deno.makeTempDir(), "snap.tar.zst");
    await Deno.writeFile(archive, dl.body!);
    const out = await Deno.makeTempDir();
    const tar = await new Deno.Command("tar", { args: ["--zstd", "-xpf", archive, "-C", out] })
      .output();
    assert(tar.success, new TextDecoder().decode(tar.stderr));
    const snapDir = join(out, "volumes", "0");
    const snapDb = join(snapDir, "app.db");
    assertEquals(await hostSql(snapDb, "PRAGMA integrity_check"), "ok");
    const snapCount = Number(await hostSql(snapDb, "SELECT count(*) FROM t"));
    const rowsHash = (file: string, maxId: number) =>
      hostSql(
        file,
        `SELECT hex(sha3(group_concat(hex(v)))) FROM (SELECT v FROM t WHERE id <= ${maxId} ORDER BY id)`,
      );
    const snapHash = await rowsHash(snapDb, snapCount);

    // Change it: more rows, a table created after the snapshot.
    await sql(db, "CREATE TABLE after_snapshot(x); INSERT INTO after_snapshot VALUES (1);");
    await new Promise((r) => setTimeout(r, 500));

    const res = await server.api(
      "POST",
      `/api/v1/workloads/${wid}/restore?wait=true`,
      { snapshotId: sid },
      { "X-Confirm-Restore": sid },
    );
    assertEquals(res.status, 200, JSON.stringify(res.json));
    assertEquals(await containerState(db), "running");
    await new Promise((r) => setTimeout(r, 500));
    assert(
      Number(await sql(db, "SELECT count(*) FROM t")) > snapCount,
      "the engine writes again after the restore",
    );

    // Stop the writer to compare the files themselves with the snapshot's.
    await dockerCli(["stop", "-t", "5", db]);
    assertEquals(
      await sql(db, "PRAGMA integrity_check").catch(() => "container stopped"),
      "container stopped",
    );
    const restoredDb = join(dir, "app.db");
    assertEquals(await hostSql(restoredDb, "PRAGMA integrity_check"), "ok");
    assertEquals(
      await hostSql(restoredDb, "SELECT count(*) FROM sqlite_master WHERE name='after_snapshot'"),
      "0",
    );
    // Rows written after the restart come after the snapshot's rows, which are intact.
    assert(Number(await hostSql(restoredDb, "SELECT count(*) FROM t")) >= snapCount);
    assertEquals(await rowsHash(restoredDb, snapCount), snapHash);
    const root = Deno.statSync(dir);
    assertEquals(
      [root.uid, root.gid, root.mode! & 0o7777],
      [70, 70, 0o700],
      "volume root owner and mode",
    );
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});

Deno.test("SQLite writing through the pre-copy: the incremental snapshot is the database as it was stopped", async () => {
  const scratch = new DockerScratch("vs-dbpre");
  const server = await TestServer.start();
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("db");
    const dir = await volumeMountpoint(vol);
    // Each row carries its insert time (ms): rows after the restart are told from rows before the stop.
    const writer = sqliteWriter(
      "v BLOB, ms INTEGER",
      `"INSERT INTO t(v, ms) VALUES (randomblob(3000), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));"`,
      0.005,
    );
    const db = await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/var/lib/db`],
      cmd: writer,
    });
    await new Promise((r) => setTimeout(r, 1500));
    const first = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(first.status, 201, JSON.stringify(first.json));
    await new Promise((r) => setTimeout(r, 1000));
    // Incremental: read once while the writer writes, then again (what changed) with it stopped.
    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const sid = cap.json.snapshot.id;
    assertEquals(cap.json.snapshot.parentId, first.json.snapshot.id);
    const events = await server.api("GET", `/api/v1/events?workload=${wid}`);
    const created = JSON.stringify(
      events.json.events.find((e: { data?: { snapshotId?: string } }) =>
        e.data?.snapshotId === sid
      ),
    );
    assert(/"precopy":\{"ms":\d+\}/.test(created), `the capture was pre-copied: ${created}`);
    const restarted = Date.parse(
      (await dockerCli(["inspect", "-f", "{{.State.StartedAt}}", db])).stdout,
    );
    await new Promise((r) => setTimeout(r, 500));
    await dockerCli(["stop", "-t", "5", db]);

    const dl = await fetch(`${server.url}/api/v1/snapshots/${sid}/archive`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    const tmp = await Deno.makeTempDir();
    try {
      const archive = join(tmp, "snap.tar.zst");
      await Deno.writeFile(archive, dl.body!);
      const tar = await new Deno.Command("tar", { args: ["--zstd", "-xpf", archive, "-C", tmp] })
        .output();
      assert(tar.success, new TextDecoder().decode(tar.stderr));
      const snapDb = join(tmp, "volumes", "0", "app.db");
      assertEquals(await hostSql(snapDb, "PRAGMA integrity_check"), "ok");
      const maxId = Number(await hostSql(snapDb, "SELECT max(id) FROM t"));
      const liveDb = join(dir, "app.db");
      // Every row written before the stop is in the snapshot, byte for byte...
      const rows = (file: string) =>
        hostSql(
          file,
          `SELECT count(*) || ':' || hex(sha3(group_concat(hex(v) || ms))) FROM (SELECT v, ms FROM t WHERE id <= ${maxId} ORDER BY id)`,
        );
      assertEquals(await rows(snapDb), await rows(liveDb));
      // ...and every row it lacks was written after the app came back.
      const early = await hostSql(
        liveDb,
        `SELECT count(*) FROM t WHERE id > ${maxId} AND ms < ${restarted - 5}`,
      );
      assertEquals(early, "0", "rows written before the stop are missing from the snapshot");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});
