/**
 * The client subcommands of the volsnap binary. Each is a thin call to the
 * HTTP API; humans get tables, scripts get `--json`. Errors are one line.
 */
import { OPS_COMMAND_FNS, OPS_COMMANDS, OPS_USAGE } from "./ops_commands.ts";
import { basename, resolve } from "node:path";
import { readTokenFile, tokenPath } from "../src/auth/token.ts";
import { ConfigError, DEFAULTS, listenUrl, parseFlags, parseListen } from "../src/config/config.ts";
import { archiveExtension, CompressionSchema } from "../src/core/model.ts";
import { type ApiClient, CliError, type OperationJson } from "./client.ts";
import { remoteCommand } from "./remote_commands.ts";
import {
  formatBytes,
  formatDuration,
  progressLine,
  renderEvents,
  renderPlan,
  renderSnapshot,
  renderSnapshots,
  renderWorkload,
  renderWorkloads,
} from "./render.ts";

/** Everything the CLI touches outside itself, so tests can drive it. */
export interface CliIo {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout/stdin are a terminal (progress lines, confirmation prompts). */
  isTTY: boolean;
  /** Asks a question on the terminal; returns the typed line. */
  ask(question: string): Promise<string | null>;
  /** Where `download -o -` writes. */
  stdout: () => WritableStream<Uint8Array>;
  makeClient(opts: { url: string; token: string }): ApiClient;
}

export const USAGE = `volsnap — snapshots and restores of Docker workload volumes

usage:
  volsnap serve [--data-dir D --listen H:P --token T --db-url U --docker-host U
                 --compression zstd|gzip|none --bind-allow DIRS --max-restore-bytes N
                 --keep-last N --pre-restore-keep-last N --stop-timeout S
                 --remote s3://B/P|file:///D --s3-endpoint U --s3-region R --s3-path-style B
                 --age-recipients K|FILE --age-identity-file F --local-keep-last N]
  volsnap workloads
  volsnap workload <wid>
  volsnap snapshot <wid> [--quiesce stop|pause|none] [--label L] [--compression C]
  volsnap snapshots <wid>
  volsnap restore <wid> <sid> [--dry-run] [--yes] [--allow-foreign] [--volume KEY]...
  volsnap import <wid> <file>
  volsnap verify <sid>
  volsnap download <sid> [-o FILE|-]
  volsnap events [--workload W] [--limit N]
  volsnap delete <sid>
${OPS_USAGE}
  volsnap remote ls                       off-host snapshots (all hosts)
  volsnap remote sync [--host ID|*]       adopt them (default: this host's own)

client options: --url URL (VOLSNAP_URL), --token T (VOLSNAP_TOKEN, else <data dir>/token),
                --data-dir D, --listen H:P, --json
`;

const SWITCHES = new Set(["json", "yes", "y", "dry-run", "allow-foreign", "help", "h"]);
const GLOBAL_VALUE_FLAGS = ["url", "token", "data-dir", "listen"];

interface CommandSpec {
  args: string[];
  flags: string[];
}

const COMMANDS: Record<string, CommandSpec> = {
  ...OPS_COMMANDS,
  workloads: { args: [], flags: [] },
  workload: { args: ["wid"], flags: [] },
  snapshot: { args: ["wid"], flags: ["quiesce", "label", "compression"] },
  snapshots: { args: ["wid"], flags: [] },
  restore: { args: ["wid", "sid"], flags: ["dry-run", "yes", "y", "allow-foreign", "volume"] },
  import: { args: ["wid", "file"], flags: [] },
  verify: { args: ["sid"], flags: [] },
  download: { args: ["sid"], flags: ["o", "output"] },
  events: { args: [], flags: ["workload", "limit"] },
  delete: { args: ["sid"], flags: [] },
  remote: { args: ["action"], flags: ["host"] },
};

export interface ParsedCommand {
  name: string;
  args: Record<string, string>;
  flags: Map<string, string[]>;
  json: boolean;
}

/** Validates a client command line; throws ConfigError (usage error) with one line. */
export function parseCommand(argv: string[]): ParsedCommand {
  const [name, ...rest] = argv;
  const spec = COMMANDS[name];
  if (!spec) throw new ConfigError(`unknown command "${name}" (see volsnap --help)`);
  const allowed = new Set([...spec.flags, ...GLOBAL_VALUE_FLAGS, "json"]);
  const switches = new Set([...SWITCHES].filter((s) => allowed.has(s)));
  let parsed;
  try {
    parsed = parseFlags(rest, switches, allowed);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`);
  }
  const { flags, positional } = parsed;
  if (positional.length !== spec.args.length) {
    const want = spec.args.map((a) => `<${a}>`).join(" ");
    throw new ConfigError(`usage: volsnap ${name}${want ? " " + want : ""}`);
  }
  const args = Object.fromEntries(spec.args.map((a, i) => [a, positional[i]]));
  return { name, args, flags, json: flags.has("json") };
}

const last = (flags: Map<string, string[]>, name: string) => flags.get(name)?.at(-1);

/** URL and token of the server: flags, then env, then the local data dir. */
export async function resolveConnection(
  flags: Map<string, string[]>,
  env: Record<string, string | undefined>,
): Promise<{ url: string; token: string }> {
  let url = last(flags, "url") ?? env.VOLSNAP_URL;
  if (!url) {
    const listenText = last(flags, "listen") ?? env.VOLSNAP_LISTEN ?? DEFAULTS.listen;
    const listen = parseListen(listenText);
    if (!listen) throw new ConfigError(`invalid listen address "${listenText}"`);
    url = listenUrl(listen);
  }
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw new ConfigError(`invalid --url "${url}"`);
  let token = last(flags, "token") ?? env.VOLSNAP_TOKEN;
  if (!token) {
    const dataDir = resolve(last(flags, "data-dir") ?? env.VOLSNAP_DATA_DIR ?? DEFAULTS.dataDir);
    try {
      token = await readTokenFile(dataDir);
    } catch (err) {
      throw new CliError(
        `cannot read the API token at ${tokenPath(dataDir)}: ${
          (err as Error).message
        } (set VOLSNAP_TOKEN or --token)`,
      );
    }
    if (!token) {
      throw new CliError(
        `no API token: ${tokenPath(dataDir)} does not exist (set VOLSNAP_TOKEN or --token)`,
      );
    }
  }
  return { url, token };
}

/** Runs one client command; returns the process exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let cmd: ParsedCommand;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    io.err(`volsnap: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const conn = await resolveConnection(cmd.flags, io.env);
    const client = io.makeClient(conn);
    await COMMAND_FNS[cmd.name](client, cmd, io);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`volsnap: ${err.message}\n`);
      return 2;
    }
    const msg = err instanceof Error ? err.message : String(err);
    io.err(`volsnap: ${msg.split("\n")[0]}\n`);
    return 1;
  }
}

const enc = encodeURIComponent;

function printJson(io: CliIo, value: unknown) {
  io.out(JSON.stringify(value, null, 2) + "\n");
}

/** On a terminal, redraws one status line; elsewhere prints nothing. */
function progressPrinter(io: CliIo) {
  let shown = false;
  return {
    op(op: OperationJson) {
      if (!io.isTTY) return;
      io.err(`\r\x1b[2K${progressLine(op)}`);
      shown = true;
    },
    bytes(label: string, done: number, total: number) {
      if (!io.isTTY) return;
      const pct = total > 0 ? ` ${Math.floor((done / total) * 100)}%` : "";
      io.err(`\r\x1b[2K${label} ${formatBytes(done)} / ${formatBytes(total)}${pct}`);
      shown = true;
    },
    end() {
      if (shown) io.err("\r\x1b[2K");
    },
  };
}

type CommandFn = (client: ApiClient, cmd: ParsedCommand, io: CliIo) => Promise<void>;

const COMMAND_FNS: Record<string, CommandFn> = {
  ...OPS_COMMAND_FNS,
  remote: remoteCommand,
  async workloads(client, cmd, io) {
    const { body } = await client.json<{ workloads: never[] }>("GET", "/api/v1/workloads");
    cmd.json ? printJson(io, body) : io.out(renderWorkloads(body.workloads));
  },

  async workload(client, cmd, io) {
    const { body } = await client.json<{ workload: never }>(
      "GET",
      `/api/v1/workloads/${enc(cmd.args.wid)}`,
    );
    cmd.json ? printJson(io, body) : io.out(renderWorkload(body.workload));
  },

  async snapshots(client, cmd, io) {
    const { body } = await client.json<{ snapshots: never[] }>(
      "GET",
      `/api/v1/workloads/${enc(cmd.args.wid)}/snapshots`,
    );
    cmd.json ? printJson(io, body) : io.out(renderSnapshots(body.snapshots));
  },

  async snapshot(client, cmd, io) {
    const body: Record<string, string> = {};
    for (const k of ["quiesce", "label", "compression"]) {
      const v = last(cmd.flags, k);
      if (v !== undefined) body[k] = v;
    }
    const p = progressPrinter(io);
    try {
      const snap = await client.runOperation(
        `/api/v1/workloads/${enc(cmd.args.wid)}/snapshots`,
        { body },
        p.op,
      );
      p.end();
      cmd.json ? printJson(io, { snapshot: snap }) : io.out(renderSnapshot(snap as never));
    } finally {
      p.end();
    }
  },

  async restore(client, cmd, io) {
    const { wid, sid } = cmd.args;
    const body = {
      snapshotId: sid,
      ...(cmd.flags.has("allow-foreign") ? { allowForeign: true } : {}),
      ...(cmd.flags.has("volume") ? { volumes: cmd.flags.get("volume") } : {}),
    };
    const path = `/api/v1/workloads/${enc(wid)}/restore`;
    if (cmd.flags.has("dry-run")) {
      const { body: res } = await client.json<{ plan: never }>("POST", path, {
        body: { ...body, dryRun: true },
      });
      cmd.json ? printJson(io, res) : io.out(renderPlan(res.plan));
      return;
    }
    if (!cmd.flags.has("yes") && !cmd.flags.has("y")) {
      if (!io.isTTY) {
        throw new CliError(
          "restore replaces live data: pass --yes to confirm when not on a terminal",
        );
      }
      const answer = await io.ask(
        `Restore snapshot ${sid} into workload ${wid}? Its containers stop and its live data is ` +
          `replaced (a pre-restore snapshot is kept). Type the snapshot id to confirm: `,
      );
      if (answer?.trim() !== sid) {
        throw new CliError("restore cancelled: confirmation did not match");
      }
    }
    const p = progressPrinter(io);
    try {
      const result = await client.runOperation(
        path,
        { body, headers: { "X-Confirm-Restore": sid } },
        p.op,
      ) as {
        downtimeMs: number;
        volumes: string[];
        preRestoreSnapshotId?: string;
        startError?: string;
        preRestoreError?: string;
      };
      p.end();
      if (cmd.json) return printJson(io, { restore: result });
      io.out(
        `restored ${sid} into ${wid}: ${result.volumes.length} volume(s), downtime ${
          formatDuration(result.downtimeMs)
        }\n`,
      );
      if (result.preRestoreSnapshotId) {
        io.out(`previous data kept as snapshot ${result.preRestoreSnapshotId}\n`);
      }
      if (result.startError) io.out(`warning: containers did not start: ${result.startError}\n`);
      if (result.preRestoreError) {
        io.out(`warning: pre-restore snapshot failed (old data kept): ${result.preRestoreError}\n`);
      }
    } finally {
      p.end();
    }
  },

  async import(client, cmd, io) {
    const p = progressPrinter(io);
    try {
      const res = await client.upload(
        `/api/v1/workloads/${enc(cmd.args.wid)}/snapshots/import`,
        cmd.args.file,
        (sent, total) => p.bytes(`uploading ${basename(cmd.args.file)}`, sent, total),
      );
      p.end();
      cmd.json ? printJson(io, res) : io.out(renderSnapshot(res.snapshot as never));
    } finally {
      p.end();
    }
  },

  async verify(client, cmd, io) {
    const p = progressPrinter(io);
    try {
      const result = await client.runOperation(
        `/api/v1/snapshots/${enc(cmd.args.sid)}/verify`,
        {},
        p.op,
      ) as { ok: boolean; sha256: string; fileCount: number; error?: string };
      p.end();
      if (cmd.json) printJson(io, { verify: result });
      else if (result.ok) {
        io.out(`snapshot ${cmd.args.sid} ok: ${result.fileCount} files, sha256 ${result.sha256}\n`);
      }
      if (!result.ok) {
        throw new CliError(
          `snapshot ${cmd.args.sid} FAILED verification: ${result.error ?? "unknown"}`,
        );
      }
    } finally {
      p.end();
    }
  },

  async download(client, cmd, io) {
    const sid = cmd.args.sid;
    const out = last(cmd.flags, "o") ?? last(cmd.flags, "output");
    const path = `/api/v1/snapshots/${enc(sid)}/archive`;
    const p = progressPrinter(io);
    try {
      if (out === "-") {
        await client.download(path, { sink: io.stdout() });
        return;
      }
      const target = resolve(out ?? await defaultFileName(client, sid));
      const r = await client.download(
        path,
        { outPath: target },
        (d, t) => p.bytes(`downloading ${sid}`, d, t),
      );
      p.end();
      if (cmd.json) printJson(io, { file: target, bytes: r.bytes, sha256: r.sha256 });
      else io.out(`wrote ${target} (${formatBytes(r.bytes)}, sha256 ${r.sha256})\n`);
    } finally {
      p.end();
    }
  },

  async events(client, cmd, io) {
    const q = new URLSearchParams();
    const w = last(cmd.flags, "workload");
    const l = last(cmd.flags, "limit");
    if (w) q.set("workload", w);
    if (l) q.set("limit", l);
    const { body } = await client.json<{ events: never[] }>("GET", `/api/v1/events?${q}`);
    cmd.json ? printJson(io, body) : io.out(renderEvents(body.events));
  },

  async delete(client, cmd, io) {
    await client.json("DELETE", `/api/v1/snapshots/${enc(cmd.args.sid)}`);
    cmd.json ? printJson(io, { deleted: cmd.args.sid }) : io.out(`deleted ${cmd.args.sid}\n`);
  },
};

/** `<sid>.<ext>` from the snapshot's compression, in the current directory. */
async function defaultFileName(client: ApiClient, sid: string): Promise<string> {
  const { body } = await client.json<{ snapshot: { compression: string } }>(
    "GET",
    `/api/v1/snapshots/${enc(sid)}`,
  );
  const parsed = CompressionSchema.safeParse(body.snapshot.compression);
  const ext = parsed.success ? archiveExtension(parsed.data) : ".tar";
  return `${sid}${ext}`;
}
