/**
 * volsnap entry point and composition root. `volsnap serve` (the default)
 * migrates the catalog, runs the recovery sweep and only then listens; every
 * other subcommand is a thin HTTP client (cli/commands.ts).
 */
import { loadOrCreateHostId } from "./src/core/host_id.ts";
import { Catalog } from "./db/catalog.ts";
import { openCatalogDb } from "./db/client.ts";
import { ApiClient } from "./cli/client.ts";
import { type CliIo, runCli, USAGE } from "./cli/commands.ts";
import { createApp } from "./routes/app.ts";
import { loadOrCreateToken } from "./src/auth/token.ts";
import { systemClock } from "./src/core/clock.ts";
import { type Config, ConfigError, listenUrl, parseConfig } from "./src/config/config.ts";
import { createDockerClient } from "./src/docker/http_client.ts";
import { createEngine } from "./src/engine/engine.ts";
import { createContext, type EngineContext } from "./src/engine/context.ts";
import { join } from "node:path";
import { openStored } from "./src/engine/local_archive.ts";
import { RemoteService } from "./src/remote/service.ts";
import { removeArchiveFile } from "./src/retention/prune.ts";
import { dataPaths, ensureDataDirs } from "./src/engine/paths.ts";
import { acquireProcessLock } from "./src/locks/process_lock.ts";
import { retryBlockedRecoveries, runRecoverySweep } from "./src/journal/recovery.ts";
import { errMessage } from "./src/core/errors.ts";
import { createLogger, type Logger } from "./src/core/log.ts";
import { OperationRunner } from "./src/operations/runner.ts";
import { lastVerifiedRestorable, outboxStore, scheduleStore, setPinned } from "./db/ops_store.ts";
import { prepareDrill, sweepScratch } from "./src/drill/drill.ts";
import { createMetrics } from "./src/metrics/collect.ts";
import { messageForEvent } from "./src/notify/from_event.ts";
import { Outbox } from "./src/notify/outbox.ts";
import { createScheduler } from "./src/schedule/wiring.ts";
import type { OpsDeps } from "./routes/ops_deps.ts";
import { VERSION } from "./src/core/version.ts";

/**
 * How long a SIGTERM waits for cancelled operations to bring back what they
 * quiesced (a stop timeout plus the starts) before exiting anyway; the
 * journal covers whatever is left, as after a SIGKILL.
 */
const SHUTDOWN_GRACE_MS = 60_000;

export async function serve(args: string[], env = Deno.env.toObject()): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(env, args);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`volsnap: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ component: "volsnap" });
  try {
    return await runServer(config, log, env.VOLSNAP_TEST_KILL_AT);
  } catch (err) {
    log.error("start-up failed", { error: errMessage(err), stack: (err as Error)?.stack });
    console.error(`volsnap: cannot start: ${errMessage(err)}`);
    return 1;
  }
}

/**
 * Crash-test seam: when VOLSNAP_TEST_KILL_AT names a fault point, the process
 * SIGKILLs itself the first time it reaches that point (no cleanup runs).
 */
function killAtFault(point: string | undefined, log: Logger) {
  if (!point) return undefined;
  log.warn("crash-test fault point armed", { point });
  return (name: string) => {
    if (name === point) Deno.kill(Deno.pid, "SIGKILL");
  };
}

/**
 * The composition root, in this order: data dir → process lock → token →
 * catalog → Docker → the one engine context → recovery sweep → app → listen.
 */
async function runServer(config: Config, log: Logger, killAt?: string): Promise<number> {
  await Deno.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const processLock = await acquireProcessLock(dataPaths(config.dataDir).lockFile);
  const token = await loadOrCreateToken(config.dataDir, config.token, log);
  const { db, close: closeDb } = await openCatalogDb(config.dbUrl);
  const catalog = new Catalog(db, await loadOrCreateHostId(config.dataDir));
  const docker = createDockerClient(config.dockerHost);
  // Notifications and metrics see every audit event, the recovery sweep's included.
  const outbox = new Outbox({
    targets: config.notify,
    secret: config.notifySecret,
    on: config.notifyOn,
    store: outboxStore(catalog),
    now: () => systemClock.now(),
    log: log.child({ component: "notify" }),
  });
  const metrics = createMetrics({
    catalog,
    version: VERSION,
    remotePending: () => ctx.remote?.pendingCount() ?? Promise.resolve(0),
  });
  const ctx = createContext({
    config,
    catalog,
    docker,
    log,
    clock: systemClock,
    faultPoint: killAtFault(killAt, log),
    onEvent: (e) => {
      metrics.observe(e);
      const m = outbox.enabled &&
        messageForEvent(e.kind, e.message, e.workload, e.data, systemClock.now());
      if (m) void outbox.enqueue(m);
    },
  });
  await ensureDataDirs(ctx.paths);
  await sweepScratch(config.dataDir);
  // Attached before the sweep: it keeps rows whose local file is gone but which live off-host.
  const remote = attachRemote(ctx);

  // Nothing may be served before every crash leftover is resolved (SPEC §6).
  await runRecoverySweep(ctx);
  // A workload whose recovery failed (e.g. Docker was down) is retried in the background.
  const stopRetries = retryBlockedRecoveries(ctx);
  const engine = createEngine(ctx);
  await remote?.start();
  const runner = new OperationRunner(catalog, systemClock, log.child({ component: "operations" }));
  const schedules = scheduleStore(catalog);
  const ops: OpsDeps = {
    schedules: () => schedules.list(),
    prepareDrill: (sid) => prepareDrill(ctx, sid),
    async setPinned(sid, pinned) {
      const row = await engine.getSnapshot(sid);
      await setPinned(catalog, sid, pinned);
      await ctx.event(
        pinned ? "snapshot_pinned" : "snapshot_unpinned",
        `snapshot ${sid} ${pinned ? "pinned" : "unpinned"}`,
        row.workload,
        { snapshotId: sid },
      );
    },
    lastVerifiedRestorable: (wid) => lastVerifiedRestorable(catalog, wid),
    metrics: () => metrics.render(),
    metricsPublic: config.metricsPublic,
  };
  const app = createApp({
    engine,
    runner,
    catalog,
    token: token.token,
    log,
    version: VERSION,
    remote,
    ops,
  });
  // After the sweep: a run missed while volsnap was down is caught up once, now.
  const scheduler = createScheduler({
    ctx,
    engine,
    runner,
    store: schedules,
    prepareDrill: ops.prepareDrill,
  });
  scheduler.start();
  outbox.start();

  const url = listenUrl(config.listen);
  const server = Deno.serve({
    hostname: config.listen.hostname,
    port: config.listen.port,
    onListen: () => log.info("listening", { url, token: token.source, dataDir: config.dataDir }),
  }, app.fetch);

  // server.finished resolves as soon as the listener closes; the process
  // must not exit before stop() has cancelled, settled and resumed.
  let stopped: Promise<void> | undefined;
  const stop = (signal: string) => stopped ??= shutdown(signal);
  const shutdown = async (signal: string) => {
    log.info("shutting down", { signal, runningOperations: runner.running });
    // Stop accepting at once; open downloads are cut when the grace period ends.
    const closed = server.shutdown();
    await scheduler.stop().catch(() => {});
    // Cancel what runs: each operation stops at its next safe point and
    // resumes the containers it quiesced before it settles (SPEC §6).
    runner.cancelAll();
    const settled = await runner.settle(SHUTDOWN_GRACE_MS);
    if (!settled) log.warn("operations still running at exit; the next start recovers them");
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    stopRetries();
    await outbox.stop();
    await Promise.race([remote?.stop(), new Promise((r) => setTimeout(r, 1000))]);
    docker.close();
    closeDb();
    processLock.close();
  };
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => stop(sig));
  await server.finished;
  await stopped;
  return 0;
}

/** Off-host copies (SPEC §13) when VOLSNAP_REMOTE is set. */
function attachRemote(ctx: EngineContext): RemoteService | undefined {
  const remote = ctx.config.remote;
  if (!remote) return undefined;
  const service = new RemoteService({
    config: remote,
    age: ctx.config.age,
    localKeepLast: ctx.config.localKeepLast,
    catalog: ctx.catalog,
    log: ctx.log.child({ component: "remote" }),
    clock: ctx.clock,
    event: (kind, message, workload, data) => ctx.event(kind, message, workload, data),
    openSnapshot: (row) => openStored(ctx, row),
    fault: (name) => ctx.fault(name),
  });
  service.removeLocal = (file) => removeArchiveFile(join(ctx.paths.archives, file));
  ctx.remote = service;
  ctx.log.info("off-host copies enabled", {
    location: service.location,
    encrypted: (ctx.config.age?.recipients.length ?? 0) > 0,
  });
  return service;
}

function writeAllSync(file: { writeSync(p: Uint8Array): number }, text: string) {
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

export const realIo: CliIo = {
  env: Deno.env.toObject(),
  out: (t) => writeAllSync(Deno.stdout, t),
  err: (t) => writeAllSync(Deno.stderr, t),
  isTTY: Deno.stdin.isTerminal() && Deno.stderr.isTerminal(),
  ask: (q) => Promise.resolve(prompt(q)),
  stdout: () => Deno.stdout.writable,
  makeClient: (opts) => new ApiClient(opts),
};

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--help" || first === "-h" || first === "help") {
    realIo.out(USAGE);
    return 0;
  }
  if (first === "--version" || first === "version") {
    realIo.out(`volsnap ${VERSION}\n`);
    return 0;
  }
  if (first === undefined || first.startsWith("-")) return await serve(argv);
  if (first === "serve") return await serve(rest);
  return await runCli(argv, realIo);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
