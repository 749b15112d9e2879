/** What every engine operation needs: effects (deps) plus process-wide state. */
import type { Catalog } from "../../db/catalog.ts";
import type { ArchiveLimits } from "../tar/limits.ts";
import { DEFAULT_LIMITS } from "../tar/limits.ts";
import type { Clock } from "../core/clock.ts";
import type { Config } from "../config/config.ts";
import type { DockerApi } from "../docker/api.ts";
import { parseDockerHost } from "../docker/docker_host.ts";
import { AppError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { Workload } from "../core/model.ts";
import { type DiscoveryOptions, findWorkload } from "../workloads/discover.ts";
import { JournalStore } from "../journal/journal.ts";
import { WorkloadLocks } from "../locks/workload_locks.ts";
import { type DataPaths, dataPaths } from "./paths.ts";
import type { RemoteService } from "../remote/service.ts";

export interface EngineDeps {
  config: Config;
  catalog: Catalog;
  docker: DockerApi;
  log: Logger;
  clock: Clock;
  /** Test seam: named points where crash tests may kill the process. */
  faultPoint?: (name: string) => Promise<void> | void;
  /**
   * Sees every audit event after it is recorded (notifications, metrics).
   * Must not block or throw: it runs inside the operation that caused it.
   */
  onEvent?: (e: { kind: string; message: string; workload?: string; data?: unknown }) => void;
}

export interface EngineContext extends EngineDeps {
  paths: DataPaths;
  journals: JournalStore;
  locks: WorkloadLocks;
  limits: ArchiveLimits;
  discovery: DiscoveryOptions;
  fault(name: string): Promise<void>;
  event(kind: string, message: string, workload?: string, data?: unknown): Promise<void>;
  /** Off-host copies (SPEC §13), when VOLSNAP_REMOTE is set; attached by main.ts. */
  remote?: RemoteService;
}

export function createContext(deps: EngineDeps): EngineContext {
  const paths = dataPaths(deps.config.dataDir);
  const dockerSocketPath = parseDockerHost(deps.config.dockerHost);
  return {
    ...deps,
    paths,
    journals: new JournalStore(paths.journal),
    locks: new WorkloadLocks(),
    limits: {
      ...DEFAULT_LIMITS,
      maxExpandedBytes: deps.config.maxRestoreBytes,
      maxUploadBytes: deps.config.maxRestoreBytes,
    },
    discovery: { dataDir: deps.config.dataDir, bindAllow: deps.config.bindAllow, dockerSocketPath },
    async fault(name) {
      await deps.faultPoint?.(name);
    },
    async event(kind, message, workload, data) {
      deps.log.info(message, { event: kind, workload });
      try {
        await deps.catalog.addEvent({
          time: deps.clock.now().toISOString(),
          workload,
          kind,
          message,
          data,
        });
      } catch (err) {
        deps.log.error("cannot record event", { kind, error: String(err) });
      }
      try {
        deps.onEvent?.({ kind, message, workload, data });
      } catch (err) {
        deps.log.error("event listener failed", { kind, error: String(err) });
      }
    },
  };
}

/**
 * Resolves a workload for a mutating operation: refuses workloads whose crash
 * recovery failed, then takes the workload lock. Returns the release function.
 */
/** The block key of a failure that may concern any workload (an unreadable journal). */
export const ANY_WORKLOAD = "*";

export async function lockWorkload(
  ctx: EngineContext,
  wid: string,
  what: string,
): Promise<{ workload: Workload; release: () => void }> {
  // "*": a journal so damaged that not even its workload can be read.
  const block = await ctx.catalog.getBlock(wid) ?? await ctx.catalog.getBlock(ANY_WORKLOAD);
  if (block) {
    throw new AppError(
      "workload_recovery_failed",
      `workload "${wid}" needs attention: crash recovery failed (${block.reason})`,
      { hint: "fix the cause and restart volsnap; the recovery sweep retries at start" },
    );
  }
  const release = ctx.locks.acquire(wid, what);
  try {
    const workload = await findWorkload(ctx.docker, wid, ctx.discovery);
    return { workload, release };
  } catch (err) {
    release();
    throw err;
  }
}
