/** CLI commands of schedules, drills and pins (SPEC §10, §17). */
import type { ApiClient } from "./client.ts";
import { table } from "./render.ts";

interface Cmd {
  args: Record<string, string>;
  json: boolean;
}
interface Io {
  out(text: string): void;
}

export const OPS_COMMANDS: Record<string, { args: string[]; flags: string[] }> = {
  schedules: { args: [], flags: [] },
  drill: { args: ["sid"], flags: [] },
  pin: { args: ["sid"], flags: [] },
  unpin: { args: ["sid"], flags: [] },
};

export const OPS_USAGE = `  volsnap schedules
  volsnap drill <sid>
  volsnap pin <sid> | unpin <sid>
`;

interface ScheduleJson {
  workload: string;
  kind: string;
  expression: string;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastResult: string | null;
}

interface DrillJson {
  snapshotId: string;
  ok: boolean;
  error?: string;
  volumesChecked: number;
  commandRan: boolean;
}

const enc = encodeURIComponent;
const print = (io: Io, v: unknown) => io.out(JSON.stringify(v, null, 2) + "\n");

export const OPS_COMMAND_FNS: Record<string, (c: ApiClient, cmd: Cmd, io: Io) => Promise<void>> = {
  async schedules(client, cmd, io) {
    const { body } = await client.json<{ schedules: ScheduleJson[] }>("GET", "/api/v1/schedules");
    if (cmd.json) return print(io, body);
    io.out(
      body.schedules.length
        ? table(
          ["WORKLOAD", "KIND", "SCHEDULE", "NEXT RUN", "LAST RUN", "LAST RESULT"],
          body.schedules.map((s) => [
            s.workload,
            s.kind,
            s.expression,
            s.nextRunAt ?? "-",
            s.lastRunAt ?? "-",
            s.lastResult ?? "-",
          ]),
        )
        : "no schedules (label volsnap.schedule / volsnap.drill, or VOLSNAP_SCHEDULE)\n",
    );
  },

  async drill(client, cmd, io) {
    const r = await client.runOperation(
      `/api/v1/snapshots/${enc(cmd.args.sid)}/drill`,
      {},
    ) as DrillJson;
    if (cmd.json) return print(io, { drill: r });
    io.out(
      r.ok
        ? `drill of ${r.snapshotId} passed (${r.volumesChecked} volume(s) compared${
          r.commandRan ? ", drill command exited 0" : ""
        })\n`
        : `drill of ${r.snapshotId} FAILED: ${r.error}\n`,
    );
    if (!r.ok) throw new Error(`drill of ${r.snapshotId} failed`);
  },

  async pin(client, cmd, io) {
    const { body } = await client.json("POST", `/api/v1/snapshots/${enc(cmd.args.sid)}/pin`);
    cmd.json ? print(io, body) : io.out(`snapshot ${cmd.args.sid} pinned\n`);
  },

  async unpin(client, cmd, io) {
    const { body } = await client.json("DELETE", `/api/v1/snapshots/${enc(cmd.args.sid)}/pin`);
    cmd.json ? print(io, body) : io.out(`snapshot ${cmd.args.sid} unpinned\n`);
  },
};
