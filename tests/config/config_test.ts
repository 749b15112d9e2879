import { assert, assertEquals, assertThrows } from "../_fakes/assert.ts";
import { ConfigError, listenUrl, parseByteSize, parseConfig } from "../../src/config/config.ts";

function configError(env: Record<string, string>, args: string[] = []): string {
  let msg = "";
  assertThrows(() => parseConfig(env, args), (e) => {
    assert(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    msg = e.message;
  });
  assert(!msg.includes("\n"), `one line expected: ${msg}`);
  return msg;
}

Deno.test("config defaults match SPEC §8", () => {
  const c = parseConfig({}, []);
  assertEquals(c, {
    dataDir: "/var/lib/volsnap",
    listen: { hostname: "127.0.0.1", port: 7780 },
    token: undefined,
    dbUrl: "file:/var/lib/volsnap/volsnap.db",
    dockerHost: "unix:///var/run/docker.sock",
    compression: "zstd",
    bindAllow: undefined,
    maxRestoreBytes: 2 ** 40,
    keepLast: 7,
    preRestoreKeepLast: 3,
    stopTimeoutSeconds: 10,
    schedule: undefined,
    notify: [],
    notifySecret: undefined,
    notifyOn: "failure",
    metricsPublic: false,
    frameStore: true,
    precopy: "auto",
  });
});

Deno.test("schedule, notify and metrics settings: env and flags, one line when invalid", () => {
  const c = parseConfig({
    VOLSNAP_SCHEDULE: "@every 15m",
    VOLSNAP_NOTIFY: "https://hooks.example.test/x,ntfy://ntfy.example.test/t",
    VOLSNAP_NOTIFY_SECRET: "0123456789",
    VOLSNAP_NOTIFY_ON: "all",
  }, ["--metrics-public", "true", "--schedule", "CRON_TZ=UTC 0 3 * * *"]);
  assertEquals(c.schedule, "CRON_TZ=UTC 0 3 * * *");
  assertEquals(c.notify.map((t) => t.type), ["webhook", "ntfy"]);
  assertEquals([c.notifySecret, c.notifyOn, c.metricsPublic], ["0123456789", "all", true]);
  assertEquals(parseConfig({ VOLSNAP_SCHEDULE: "off" }, []).schedule, undefined);
  assertEquals(parseConfig({}, ["--precopy", "never"]).precopy, "never");
  const cases: [Record<string, string>, RegExp][] = [
    [{ VOLSNAP_SCHEDULE: "@every 5s" }, /VOLSNAP_SCHEDULE.*at least 10s/],
    [{ VOLSNAP_SCHEDULE: "0 3 * *" }, /VOLSNAP_SCHEDULE.*5 fields/],
    [{ VOLSNAP_NOTIFY: "https://ok.test/,gopher://tok3n@x/" }, /VOLSNAP_NOTIFY.*target 2/],
    [{ VOLSNAP_NOTIFY_ON: "sometimes" }, /VOLSNAP_NOTIFY_ON/],
    [{ VOLSNAP_METRICS_PUBLIC: "yes" }, /VOLSNAP_METRICS_PUBLIC/],
    [{ VOLSNAP_PRECOPY: "sometimes" }, /VOLSNAP_PRECOPY.*"auto", "always" or "never"/],
    [{ VOLSNAP_NOTIFY_SECRET: "short" }, /VOLSNAP_NOTIFY_SECRET/],
  ];
  for (const [env, re] of cases) {
    const msg = configError(env);
    assert(re.test(msg), `${JSON.stringify(env)}: ${msg}`);
    assert(!msg.includes("tok3n") && !msg.includes('short"'), `secret in message: ${msg}`);
  }
});

Deno.test("env sets every value and flags override env", () => {
  const env = {
    VOLSNAP_DATA_DIR: "/srv/vs",
    VOLSNAP_LISTEN: "0.0.0.0:9000",
    VOLSNAP_TOKEN: "0123456789abcdef0123",
    DOCKER_HOST: "unix:///run/docker.sock",
    VOLSNAP_COMPRESSION: "gzip",
    VOLSNAP_BIND_ALLOW: "/srv/apps/, /home",
    VOLSNAP_MAX_RESTORE_BYTES: "10G",
    VOLSNAP_KEEP_LAST: "3",
    VOLSNAP_PRE_RESTORE_KEEP_LAST: "2",
    VOLSNAP_STOP_TIMEOUT: "30",
  };
  const c = parseConfig(env, []);
  assertEquals(c.dataDir, "/srv/vs");
  assertEquals(c.dbUrl, "file:/srv/vs/volsnap.db");
  assertEquals(c.listen, { hostname: "0.0.0.0", port: 9000 });
  assertEquals(c.token, "0123456789abcdef0123");
  assertEquals(c.dockerHost, "unix:///run/docker.sock");
  assertEquals(c.compression, "gzip");
  assertEquals(c.bindAllow, ["/srv/apps", "/home"]);
  assertEquals(c.maxRestoreBytes, 10 * 2 ** 30);
  assertEquals([c.keepLast, c.preRestoreKeepLast, c.stopTimeoutSeconds], [3, 2, 30]);

  const f = parseConfig(env, [
    "--data-dir",
    "/data",
    "--listen=[::1]:7781",
    "--compression",
    "none",
    "--db-url",
    "libsql://catalog.example.com",
    "--max-restore-bytes",
    "512MiB",
    "--keep-last=9",
  ]);
  assertEquals(f.dataDir, "/data");
  assertEquals(f.listen, { hostname: "::1", port: 7781 });
  assertEquals(f.compression, "none");
  assertEquals(f.dbUrl, "libsql://catalog.example.com");
  assertEquals(f.maxRestoreBytes, 512 * 2 ** 20);
  assertEquals(f.keepLast, 9);
  assertEquals(listenUrl(f.listen), "http://[::1]:7781");
  assertEquals(listenUrl(c.listen), "http://127.0.0.1:9000");
});

Deno.test("invalid configuration fails with one line naming the setting and its source", () => {
  assertEquals(
    configError({ VOLSNAP_LISTEN: "localhost" }),
    'invalid VOLSNAP_LISTEN (from VOLSNAP_LISTEN): "localhost" is not host:port (e.g. 127.0.0.1:7780)',
  );
  const cases: [Record<string, string>, string[], string][] = [
    [{}, ["--listen", "1.2.3.4:70000"], "VOLSNAP_LISTEN (from --listen)"],
    [{ VOLSNAP_COMPRESSION: "lz4" }, [], "VOLSNAP_COMPRESSION"],
    [{ VOLSNAP_DB_URL: "postgres://x" }, [], "VOLSNAP_DB_URL"],
    [{ DOCKER_HOST: "tcp://1.2.3.4:2375" }, [], "only unix sockets"],
    [{ VOLSNAP_BIND_ALLOW: "/srv,relative/dir" }, [], '"relative/dir" is not an absolute'],
    [{ VOLSNAP_MAX_RESTORE_BYTES: "lots" }, [], "VOLSNAP_MAX_RESTORE_BYTES"],
    [{ VOLSNAP_MAX_RESTORE_BYTES: "0" }, [], "VOLSNAP_MAX_RESTORE_BYTES"],
    [{ VOLSNAP_KEEP_LAST: "0" }, [], "at least 1"],
    [{ VOLSNAP_KEEP_LAST: "-3" }, [], "whole number"],
    [{ VOLSNAP_PRE_RESTORE_KEEP_LAST: "1" }, [], "at least 2"],
    [{ VOLSNAP_STOP_TIMEOUT: "ten" }, [], "VOLSNAP_STOP_TIMEOUT"],
    [{ VOLSNAP_TOKEN: "short" }, [], "at least 16"],
    [{}, ["--no-such-flag", "x"], "unknown option --no-such-flag"],
    [{}, ["--data-dir"], "--data-dir needs a value"],
    [{}, ["stray"], 'unexpected argument "stray"'],
  ];
  for (const [env, args, part] of cases) {
    const msg = configError(env, args);
    assert(msg.includes(part), `${JSON.stringify([env, args])}: "${msg}" lacks "${part}"`);
  }
});

Deno.test("byte sizes accept plain numbers and binary suffixes", () => {
  assertEquals(parseByteSize("1024"), 1024);
  assertEquals(parseByteSize("10G"), 10 * 2 ** 30);
  assertEquals(parseByteSize("1.5k"), 1536);
  assertEquals(parseByteSize("2TiB"), 2 * 2 ** 40);
  assertEquals(parseByteSize("3 MB"), 3 * 2 ** 20);
  assertEquals(parseByteSize("ten"), undefined);
  assertEquals(parseByteSize("5X"), undefined);
});
