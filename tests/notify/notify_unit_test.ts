import { createHmac } from "node:crypto";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { silentLogger } from "../../src/core/log.ts";
import { Outbox, type OutboxRow, type OutboxStore } from "../../src/notify/outbox.ts";
import { messageForEvent } from "../../src/notify/from_event.ts";
import {
  buildRequest,
  type NotifyMessage,
  type OutgoingRequest,
  parseTargets,
} from "../../src/notify/targets.ts";

const msg = (ok: boolean, event = "capture"): NotifyMessage => ({
  event,
  workload: "app",
  snapshotId: "s1",
  ok,
  message: ok ? "snapshot s1 created" : "pre hook exited 1",
  at: "2026-06-01T00:00:00.000Z",
});

Deno.test("parseTargets() recognises every target type and hides URLs in labels", () => {
  const t = parseTargets([
    "https://example.test/hook",
    "ntfys://ntfy.example.test/backups",
    "https://hooks.slack.com/services/T000/B000/SECRETSECRET",
    "https://discord.com/api/webhooks/1/SECRET",
    "https://chat.example.test/hooks/abcdefghijklmnopqrstuvwxyz",
    "hc+https://hc.example.test/ping/5f2c7a1e-1111-2222-3333-444455556666",
  ].join(","));
  assertEquals(t.map((x) => x.type), [
    "webhook",
    "ntfy",
    "slack",
    "discord",
    "mattermost",
    "healthchecks",
  ]);
  for (const x of t) assert(!x.label.includes("SECRET") && !x.label.includes("/"), x.label);
  assertEquals(t[1].url, "https://ntfy.example.test/backups");
  let err = "";
  try {
    parseTargets("https://ok.test/, ftp://user:pw@secret.test/x");
  } catch (e) {
    err = (e as Error).message;
  }
  assert(err.includes("target 2") && !err.includes("secret"), err);
});

Deno.test("buildRequest() signs the generic webhook body with HMAC-SHA256", () => {
  const [t] = parseTargets("http://127.0.0.1:9/hook");
  const r = buildRequest(t, msg(false), "s3cret")!;
  const expected = createHmac("sha256", "s3cret").update(r.body!).digest("hex");
  assertEquals(r.headers["x-volsnap-signature"], `sha256=${expected}`);
  assertEquals(JSON.parse(r.body!), { ...msg(false) });
  assertEquals(buildRequest(t, msg(true))!.headers["x-volsnap-signature"], undefined);
});

Deno.test("healthchecks pings /start, success and /fail for captures only", () => {
  const [hc] = parseTargets("hc+http://127.0.0.1:9/ping/abc");
  assertEquals(
    buildRequest(hc, { ...msg(true), start: true })!.url,
    "http://127.0.0.1:9/ping/abc/start",
  );
  assertEquals(buildRequest(hc, msg(true))!.url, "http://127.0.0.1:9/ping/abc");
  assertEquals(buildRequest(hc, msg(false))!.url, "http://127.0.0.1:9/ping/abc/fail");
  assertEquals(buildRequest(hc, msg(false, "drill")), null);
});

Deno.test("messageForEvent() maps audit events; pre-restore snapshots are not captures", () => {
  const at = new Date("2026-06-01T00:00:00Z");
  assertEquals(messageForEvent("capture_failed", "boom", "app", {}, at)?.ok, false);
  assertEquals(
    messageForEvent("snapshot_created", "x", "app", { snapshotId: "s" }, at)?.snapshotId,
    "s",
  );
  assertEquals(messageForEvent("snapshot_created", "x", "app", { restoreOp: "o" }, at), null);
  assertEquals(messageForEvent("snapshot_pruned", "x", "app", {}, at), null);
});

class MemOutbox implements OutboxStore {
  rows: (OutboxRow & { state: string; error?: string })[] = [];
  add(rows: { target: string; message: NotifyMessage; createdAt: string }[]) {
    for (const r of rows) {
      this.rows.push({
        id: this.rows.length + 1,
        target: r.target,
        message: r.message,
        attempts: 0,
        nextAttemptAt: r.createdAt,
        state: "pending",
      });
    }
    return Promise.resolve();
  }
  due(now: string, limit: number) {
    return Promise.resolve(
      this.rows.filter((r) => r.state === "pending" && r.nextAttemptAt <= now).slice(0, limit),
    );
  }
  #row(id: number) {
    return this.rows.find((r) => r.id === id)!;
  }
  delivered(id: number) {
    this.#row(id).state = "delivered";
    return Promise.resolve();
  }
  retryLater(id: number, attempts: number, next: string, error: string) {
    Object.assign(this.#row(id), { attempts, nextAttemptAt: next, error });
    return Promise.resolve();
  }
  giveUp(id: number, attempts: number, error: string) {
    Object.assign(this.#row(id), { attempts, state: "failed", error });
    return Promise.resolve();
  }
}

Deno.test("Outbox filters by NOTIFY_ON, retries with backoff, and gives up", async () => {
  let now = new Date("2026-06-01T00:00:00Z");
  const sent: OutgoingRequest[] = [];
  let status = 500;
  const store = new MemOutbox();
  const box = new Outbox({
    targets: parseTargets("http://127.0.0.1:9/hook"),
    on: "failure",
    store,
    now: () => now,
    log: silentLogger,
    fetch: (req) => {
      sent.push(req);
      return Promise.resolve({ status });
    },
  });
  await box.enqueue(msg(true)); // success: not sent with NOTIFY_ON=failure
  assertEquals(store.rows.length, 0);
  await box.enqueue(msg(false));
  await box.kick();
  assertEquals(sent.length, 1);
  assertEquals(store.rows[0].attempts, 1);
  assertEquals(store.rows[0].nextAttemptAt, "2026-06-01T00:00:01.000Z");
  await box.kick(); // not due yet
  assertEquals(sent.length, 1);
  now = new Date("2026-06-01T00:00:01Z");
  await box.kick();
  assertEquals(store.rows[0].nextAttemptAt, "2026-06-01T00:00:03.000Z"); // 2 s after
  status = 204;
  now = new Date("2026-06-01T00:00:03Z");
  await box.kick();
  assertEquals(store.rows[0].state, "delivered");
  assertEquals(sent.length, 3);
  // A target that always fails is given up after MAX_ATTEMPTS.
  status = 503;
  await box.enqueue(msg(false));
  for (let i = 0; i < 20; i++) {
    now = new Date(now.getTime() + 3_600_000);
    await box.kick();
  }
  assertEquals(store.rows[1].state, "failed");
  assertEquals(store.rows[1].attempts, 12);
});
