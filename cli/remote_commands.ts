/** `volsnap remote ls` and `volsnap remote sync [--host ID|*]` (SPEC §13). */
import type { ApiClient } from "./client.ts";
import { CliError } from "./client.ts";
import { formatBytes } from "./render.ts";

interface RemoteSnapshot {
  id: string;
  workload: string;
  host: string;
  createdAt: string;
  sizeBytes: number;
  encrypted: boolean;
  inCatalog: boolean;
}

export async function remoteCommand(
  client: ApiClient,
  cmd: { args: Record<string, string>; flags: Map<string, string[]>; json: boolean },
  io: { out(text: string): void },
): Promise<void> {
  const action = cmd.args.action;
  if (action === "ls") {
    const { body } = await client.json<
      { location: string; host: string; snapshots: RemoteSnapshot[]; invalid: unknown[] }
    >("GET", "/api/v1/remote/snapshots");
    if (cmd.json) return io.out(JSON.stringify(body, null, 2) + "\n");
    const lines = [`${body.location} (this host: ${body.host})`];
    for (const s of body.snapshots) {
      lines.push(
        [
          s.id,
          s.workload,
          s.host === body.host ? "this host" : s.host,
          s.createdAt,
          formatBytes(s.sizeBytes),
          s.encrypted ? "age" : "plain",
          s.inCatalog ? "in catalog" : "not adopted",
        ].join("  "),
      );
    }
    if (!body.snapshots.length) lines.push("(no snapshots)");
    if (body.invalid.length) lines.push(`${body.invalid.length} unreadable sidecar(s): see --json`);
    return io.out(lines.join("\n") + "\n");
  }
  if (action === "sync") {
    const host = cmd.flags.get("host")?.at(-1);
    const { body } = await client.json<
      { adopted: string[]; skipped: { id: string; reason: string }[] }
    >("POST", "/api/v1/remote/sync", { body: host ? { host } : {} });
    if (cmd.json) return io.out(JSON.stringify(body, null, 2) + "\n");
    const lines = [
      `adopted ${body.adopted.length} snapshot(s)`,
      ...body.adopted.map((id) => `  ${id}`),
    ];
    for (const s of body.skipped) lines.push(`skipped ${s.id}: ${s.reason}`);
    return io.out(lines.join("\n") + "\n");
  }
  throw new CliError(`unknown remote action "${action}": use "ls" or "sync"`);
}
