/**
 * An in-process engine on the real Docker engine and real files, with a
 * Docker decorator and fault points so tests can inject failures exactly
 * where they want them.
 */
import { loadOrCreateHostId } from "../../src/core/host_id.ts";
import { Catalog } from "../../db/catalog.ts";
import { openCatalogDb } from "../../db/client.ts";
import { systemClock } from "../../src/core/clock.ts";
import { type Config, parseConfig } from "../../src/config/config.ts";
import type { DockerApi } from "../../src/docker/api.ts";
import { createDockerClient } from "../../src/docker/http_client.ts";
import { createEngine } from "../../src/engine/engine.ts";
import { createContext, type EngineContext } from "../../src/engine/context.ts";
import { ensureDataDirs } from "../../src/engine/paths.ts";
import { acquireProcessLock } from "../../src/locks/process_lock.ts";
import { runRecoverySweep } from "../../src/journal/recovery.ts";
import type { Engine, OpContext, PreparedOperation } from "../../src/engine/types.ts";
import { silentLogger } from "../../src/core/log.ts";
import { requireDockerEnv } from "./docker_cli.ts";

export interface EngineEnv {
  engine: Engine;
  catalog: Catalog;
  config: Config;
  docker: DockerApi;
  /** Overrides of Docker calls, consulted before the real engine. */
  dockerFaults: Partial<DockerApi>;
  /** Called at every named fault point. */
  onFault: (name: string) => Promise<void> | void;
  recover(): Promise<unknown>;
  /** The one engine context (shared locks, journals). */
  ctx: EngineContext;
  close(): void;
}

export async function engineEnv(env: Record<string, string> = {}): Promise<EngineEnv> {
  const { dockerHost } = requireDockerEnv();
  const dataDir = env.VOLSNAP_DATA_DIR ?? await Deno.makeTempDir({ prefix: "volsnap-engine-" });
  const config = parseConfig({
    DOCKER_HOST: dockerHost,
    VOLSNAP_STOP_TIMEOUT: "5",
    ...env,
    VOLSNAP_DATA_DIR: dataDir,
  }, []);
  await Deno.mkdir(dataDir, { recursive: true });
  const { db, close } = await openCatalogDb(config.dbUrl);
  const catalog = new Catalog(db, await loadOrCreateHostId(dataDir));
  const real = createDockerClient(config.dockerHost);
  const dockerFaults: Partial<DockerApi> = {};
  const docker = new Proxy(real as DockerApi, {
    get(target, prop: keyof DockerApi) {
      const override = dockerFaults[prop];
      // deno-lint-ignore no-explicit-any
      return override ?? (target as any)[prop].bind(target);
    },
  });
  const holder: EngineEnv = {
    catalog,
    config,
    docker,
    dockerFaults,
    onFault: () => {},
    engine: undefined as unknown as Engine,
    ctx: undefined as unknown as EngineContext,
    recover: () => runRecoverySweep(ctx),
    close() {
      close();
      real.close();
      lock.close();
    },
  };
  const ctx = createContext({
    config,
    catalog,
    docker,
    log: silentLogger,
    clock: systemClock,
    faultPoint: (name: string) => holder.onFault(name),
  });
  await ensureDataDirs(ctx.paths);
  const lock = await acquireProcessLock(ctx.paths.lockFile);
  await runRecoverySweep(ctx);
  holder.engine = createEngine(ctx);
  holder.ctx = ctx;
  return holder;
}

let n = 0;
export function runOp<T>(op: PreparedOperation<T>): Promise<T> {
  const ctx: OpContext = { id: `op_test${(++n).toString().padStart(12, "0")}`, progress: () => {} };
  return op.run(ctx);
}
