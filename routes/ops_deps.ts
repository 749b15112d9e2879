/** What the schedule, drill, pin and metrics routes need (built once in main.ts). */
import type { ScheduleState } from "../src/schedule/scheduler.ts";
import type { PreparedOperation } from "../src/engine/types.ts";
import type { DrillResult } from "../src/drill/drill.ts";

export interface OpsDeps {
  schedules(): Promise<ScheduleState[]>;
  prepareDrill(sid: string): Promise<PreparedOperation<DrillResult>>;
  /** Throws not_found for an unknown snapshot. */
  setPinned(sid: string, pinned: boolean): Promise<void>;
  /** Newest snapshot of the workload whose restore drill passed. */
  lastVerifiedRestorable(
    wid: string,
  ): Promise<{ id: string; createdAt: string; lastDrillAt: string } | undefined>;
  metrics(): Promise<string>;
  metricsPublic: boolean;
}
