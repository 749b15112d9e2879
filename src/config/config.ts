/**
 * Runtime configuration from env vars and CLI flags of the same meaning
 * (SPEC §8). Flags win over env. Every value is validated here, once, so the
 * rest of the program can trust it; a bad value fails start-up with one line.
 */
import { isAbsolute, normalize, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { type Compression, CompressionSchema } from "../core/model.ts";
import { DEFAULT_DOCKER_HOST, DOCKER_HOST_PATTERN } from "../docker/docker_host.ts";
import { type NotifyTarget, parseTargets } from "../notify/targets.ts";
import { parseSchedule } from "../schedule/spec.ts";
import {
  type AgeConfig,
  parseRemoteSettings,
  REMOTE_SETTINGS,
  type RemoteConfig,
  type RemoteRaw,
} from "../remote/config.ts";

export interface Config {
  dataDir: string;
  listen: { hostname: string; port: number };
  token?: string;
  dbUrl: string;
  dockerHost: string;
  compression: Compression;
  bindAllow?: string[];
  maxRestoreBytes: number;
  keepLast: number;
  preRestoreKeepLast: number;
  stopTimeoutSeconds: number;
  /** Default schedule of workloads without a `volsnap.schedule` label (SPEC §10). */
  schedule?: string;
  notify: NotifyTarget[];
  notifySecret?: string;
  notifyOn: "failure" | "all";
  metricsPublic: boolean;
  /** Off-host copies (SPEC §13); absent: none. */
  remote?: RemoteConfig;
  age?: AgeConfig;
  /** Local copies kept per workload when a remote holds the rest. */
  localKeepLast?: number;
  /** zstd captures kept as frames in the frame store (SPEC §15), incremental where they can be. */
  frameStore: boolean;
  /**
   * Read the volumes once while the app still runs before a stop/pause
   * capture, so the app is down only for what changed since (SPEC §15):
   * "auto" for incremental captures, "always" for first ones too, "never".
   */
  precopy: "auto" | "always" | "never";
}

/** Invalid configuration; `message` is the one line shown to the operator. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** One setting: its env var, its flag, and how to parse it. */
interface Setting {
  key: keyof RawConfig;
  env: string;
  flag: string;
}

type RawConfig = {
  dataDir?: string;
  listen?: string;
  token?: string;
  dbUrl?: string;
  dockerHost?: string;
  compression?: string;
  bindAllow?: string;
  maxRestoreBytes?: string;
  keepLast?: string;
  preRestoreKeepLast?: string;
  stopTimeoutSeconds?: string;
  schedule?: string;
  notify?: string;
  notifySecret?: string;
  notifyOn?: string;
  metricsPublic?: string;
  frameStore?: string;
  precopy?: string;
};

export const SETTINGS: readonly Setting[] = [
  { key: "dataDir", env: "VOLSNAP_DATA_DIR", flag: "data-dir" },
  { key: "listen", env: "VOLSNAP_LISTEN", flag: "listen" },
  { key: "token", env: "VOLSNAP_TOKEN", flag: "token" },
  { key: "dbUrl", env: "VOLSNAP_DB_URL", flag: "db-url" },
  { key: "dockerHost", env: "DOCKER_HOST", flag: "docker-host" },
  { key: "compression", env: "VOLSNAP_COMPRESSION", flag: "compression" },
  { key: "bindAllow", env: "VOLSNAP_BIND_ALLOW", flag: "bind-allow" },
  { key: "maxRestoreBytes", env: "VOLSNAP_MAX_RESTORE_BYTES", flag: "max-restore-bytes" },
  { key: "keepLast", env: "VOLSNAP_KEEP_LAST", flag: "keep-last" },
  {
    key: "preRestoreKeepLast",
    env: "VOLSNAP_PRE_RESTORE_KEEP_LAST",
    flag: "pre-restore-keep-last",
  },
  { key: "stopTimeoutSeconds", env: "VOLSNAP_STOP_TIMEOUT", flag: "stop-timeout" },
  { key: "schedule", env: "VOLSNAP_SCHEDULE", flag: "schedule" },
  { key: "notify", env: "VOLSNAP_NOTIFY", flag: "notify" },
  { key: "notifySecret", env: "VOLSNAP_NOTIFY_SECRET", flag: "notify-secret" },
  { key: "notifyOn", env: "VOLSNAP_NOTIFY_ON", flag: "notify-on" },
  { key: "metricsPublic", env: "VOLSNAP_METRICS_PUBLIC", flag: "metrics-public" },
  { key: "frameStore", env: "VOLSNAP_FRAME_STORE", flag: "frame-store" },
  { key: "precopy", env: "VOLSNAP_PRECOPY", flag: "precopy" },
];

export const DEFAULTS = {
  dataDir: "/var/lib/volsnap",
  listen: "127.0.0.1:7780",
  dockerHost: DEFAULT_DOCKER_HOST,
  compression: "zstd" as Compression,
  maxRestoreBytes: 2 ** 40,
  keepLast: 7,
  preRestoreKeepLast: 3,
  stopTimeoutSeconds: 10,
  frameStore: true,
  precopy: "auto" as const,
};

const UNITS: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "1099511627776", "10G", "512MiB", "2TB" (units are binary: 1K = 1024). */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Math.floor(Number(m[1]) * UNITS[m[2].toUpperCase()]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** "host:port", "[::1]:port" or ":port" (all interfaces of IPv4). */
export function parseListen(text: string): { hostname: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}

const intIn = (min: number, max: number, what: string) =>
  z.string().regex(/^\d+$/, `${what} must be a whole number`).transform(Number)
    .pipe(
      z.number().int().min(min, `${what} must be at least ${min}`).max(
        max,
        `${what} must be at most ${max}`,
      ),
    );

const absDir = (what: string) =>
  z.string().min(1, `${what} must not be empty`).transform((p) => resolve(p));

const schema = z.object({
  dataDir: absDir("data dir"),
  listen: z.string().transform((s, ctx) => {
    const l = parseListen(s);
    if (!l) {
      ctx.addIssue({ code: "custom", message: `"${s}" is not host:port (e.g. 127.0.0.1:7780)` });
      return z.NEVER;
    }
    return l;
  }),
  token: z.string().min(16, "the token must be at least 16 characters")
    .max(512, "the token must be at most 512 characters")
    .regex(/^[\x21-\x7e]+$/, "the token must be printable ASCII without spaces")
    .optional(),
  dbUrl: z.string().regex(
    /^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/)\S+$/,
    "must start with file:, libsql://, http:// or https://",
  ).optional(),
  dockerHost: z.string().regex(
    DOCKER_HOST_PATTERN,
    "must be unix:///path/to/docker.sock (only unix sockets are supported)",
  ),
  compression: z.string().pipe(CompressionSchema),
  bindAllow: z.string().transform((s, ctx) => {
    const dirs = s.split(",").map((d) => d.trim()).filter(Boolean);
    for (const d of dirs) {
      if (!isAbsolute(d)) {
        ctx.addIssue({ code: "custom", message: `"${d}" is not an absolute directory` });
        return z.NEVER;
      }
    }
    // normalize() keeps "/" and strips trailing slashes elsewhere, so prefix checks are exact.
    return dirs.map((d) => d === "/" ? d : normalize(d).replace(/\/+$/, ""));
  }).optional(),
  maxRestoreBytes: z.string().transform((s, ctx) => {
    const n = parseByteSize(s);
    if (n === undefined || n < 1) {
      ctx.addIssue({ code: "custom", message: `"${s}" is not a size (e.g. 1099511627776, 10G)` });
      return z.NEVER;
    }
    return n;
  }),
  keepLast: intIn(1, 100_000, "keep-last"),
  // One pre-restore snapshot is never enough: a second restore would prune the only way back.
  preRestoreKeepLast: intIn(2, 100_000, "pre-restore keep-last"),
  stopTimeoutSeconds: intIn(0, 3600, "stop timeout"),
  schedule: z.string().transform((s, ctx) => {
    try {
      return parseSchedule(s) ? s.trim() : undefined;
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  }).optional(),
  notify: z.string().transform((s, ctx) => {
    try {
      return parseTargets(s);
    } catch (err) {
      // The message names the target's position, never its URL (it may hold a secret).
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  }),
  notifySecret: z.string().min(8, "the notify secret must be at least 8 characters").optional(),
  notifyOn: z.enum(["failure", "all"], { message: 'must be "failure" or "all"' }),
  metricsPublic: z.enum(["true", "false"], { message: 'must be "true" or "false"' })
    .transform((v) => v === "true"),
  frameStore: z.enum(["true", "false"], { message: 'must be "true" or "false"' })
    .transform((v) => v === "true"),
  precopy: z.enum(["auto", "always", "never"], {
    message: 'must be "auto", "always" or "never"',
  }),
});

/**
 * Splits `--name value` / `--name=value` / `--switch` flags from positional
 * arguments with node:util's parseArgs. `switches` names flags that take no
 * value; `known`, when given, is every accepted name (switches included). A
 * repeated flag keeps all values in order. Errors are one ConfigError line.
 */
export function parseFlags(
  args: string[],
  switches: ReadonlySet<string> = new Set(),
  known?: ReadonlySet<string>,
): { flags: Map<string, string[]>; positional: string[] } {
  const valueNames = known
    ? [...known].filter((n) => !switches.has(n))
    : SETTINGS.map((s) => s.flag);
  const options: Record<string, { type: "string" | "boolean"; multiple: true }> = {};
  for (const n of valueNames) options[n] = { type: "string", multiple: true };
  for (const n of switches) options[n] = { type: "boolean", multiple: true };
  const { tokens } = parseArgs({
    args,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (const t of tokens) {
    if (t.kind === "positional") positional.push(t.value);
    if (t.kind !== "option") continue;
    if (known && !known.has(t.name)) throw new ConfigError(`unknown option --${t.name}`);
    if (switches.has(t.name)) {
      if (t.inlineValue && !/^(true|false)$/.test(t.value ?? "")) {
        throw new ConfigError(`--${t.name} takes no value`);
      }
      add(t.name, t.value ?? "true");
    } else if (!(t.name in options)) {
      throw new ConfigError(`unknown option --${t.name}`);
    } else if (t.value === undefined) {
      throw new ConfigError(`--${t.name} needs a value`);
    } else {
      add(t.name, t.value);
    }
  }
  return { flags, positional };
}

/**
 * Builds the config from env and `args` (the flags after the subcommand).
 * Unknown flags are an error so a typo never silently falls back to a default.
 */
export function parseConfig(env: Record<string, string | undefined>, args: string[]): Config {
  const { flags, positional } = parseFlags(args);
  if (positional.length) throw new ConfigError(`unexpected argument "${positional[0]}"`);
  const known = new Map(SETTINGS.map((s) => [s.flag, s]));
  const raw: RawConfig = {};
  const source: Partial<Record<keyof RawConfig, string>> = {};
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v !== undefined && v !== "") {
      raw[s.key] = v;
      source[s.key] = s.env;
    }
  }
  const remoteRaw: RemoteRaw = {};
  for (const s of REMOTE_SETTINGS) if (env[s.env]) remoteRaw[s.key] = env[s.env];
  const remoteFlags = new Map<string, (typeof REMOTE_SETTINGS)[number]>(
    REMOTE_SETTINGS.map((s) => [s.flag, s]),
  );
  for (const [name, values] of flags) {
    const r = remoteFlags.get(name);
    if (r) {
      remoteRaw[r.key] = values[values.length - 1];
      continue;
    }
    const s = known.get(name);
    if (!s) throw new ConfigError(`unknown option --${name}`);
    raw[s.key] = values[values.length - 1];
    source[s.key] = `--${name}`;
  }
  let remote: ReturnType<typeof parseRemoteSettings>;
  try {
    remote = parseRemoteSettings(remoteRaw, env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const withDefaults = {
    dataDir: raw.dataDir ?? DEFAULTS.dataDir,
    listen: raw.listen ?? DEFAULTS.listen,
    token: raw.token,
    dbUrl: raw.dbUrl,
    dockerHost: raw.dockerHost ?? DEFAULTS.dockerHost,
    compression: raw.compression ?? DEFAULTS.compression,
    bindAllow: raw.bindAllow,
    maxRestoreBytes: raw.maxRestoreBytes ?? String(DEFAULTS.maxRestoreBytes),
    keepLast: raw.keepLast ?? String(DEFAULTS.keepLast),
    preRestoreKeepLast: raw.preRestoreKeepLast ?? String(DEFAULTS.preRestoreKeepLast),
    stopTimeoutSeconds: raw.stopTimeoutSeconds ?? String(DEFAULTS.stopTimeoutSeconds),
    schedule: raw.schedule,
    notify: raw.notify ?? "",
    notifySecret: raw.notifySecret,
    notifyOn: raw.notifyOn ?? "failure",
    metricsPublic: raw.metricsPublic ?? "false",
    frameStore: raw.frameStore ?? String(DEFAULTS.frameStore),
    precopy: raw.precopy ?? DEFAULTS.precopy,
  };
  const parsed = schema.safeParse(withDefaults);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path[0] as keyof RawConfig;
    const setting = SETTINGS.find((s) => s.key === key)!;
    const from = source[key] ?? `default of ${setting.env}`;
    throw new ConfigError(`invalid ${setting.env} (from ${from}): ${issue.message}`);
  }
  const c = parsed.data;
  return {
    dataDir: c.dataDir,
    listen: c.listen,
    token: c.token,
    dbUrl: c.dbUrl ?? `file:${c.dataDir}/volsnap.db`,
    dockerHost: c.dockerHost,
    compression: c.compression,
    bindAllow: c.bindAllow,
    maxRestoreBytes: c.maxRestoreBytes,
    keepLast: c.keepLast,
    preRestoreKeepLast: c.preRestoreKeepLast,
    stopTimeoutSeconds: c.stopTimeoutSeconds,
    schedule: c.schedule,
    notify: c.notify,
    notifySecret: c.notifySecret,
    notifyOn: c.notifyOn,
    metricsPublic: c.metricsPublic,
    ...remote,
    frameStore: c.frameStore,
    precopy: c.precopy,
  };
}

/** The URL a local client uses to reach `listen` (wildcards mean loopback). */
export function listenUrl(listen: { hostname: string; port: number }): string {
  let host = listen.hostname;
  if (host === "0.0.0.0" || host === "") host = "127.0.0.1";
  if (host === "::") host = "::1";
  return `http://${host.includes(":") ? `[${host}]` : host}:${listen.port}`;
}
