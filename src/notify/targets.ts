/**
 * Notification targets (SPEC §11) and the request each one gets for a
 * message. Pure: building a request does no I/O; delivery is outbox.ts.
 *
 *   https://… / http://…            generic JSON webhook, HMAC-signed with a secret
 *   ntfy://host/topic, ntfys://…    ntfy (POST text to http(s)://host/topic)
 *   Slack / Discord / Mattermost    their incoming-webhook JSON shapes
 *   hc+https://host/ping/<uuid>     healthchecks pings: /start, success, /fail
 *
 * Target URLs often embed secrets (Slack hook tokens, ntfy topics), so only
 * `label` (scheme and host) ever reaches a log, an event or an API answer.
 */
import { createHmac } from "node:crypto";

export type TargetType = "webhook" | "ntfy" | "slack" | "discord" | "mattermost" | "healthchecks";

export interface NotifyTarget {
  type: TargetType;
  /** The URL requests go to (for healthchecks: the ping base). */
  url: string;
  /** Safe to show: type and host only. */
  label: string;
  /** Stable id of the configured URL (sha256 prefix), stored in the outbox instead of the URL. */
  id: string;
}

/** What happened; the generic webhook body is exactly this object. */
export interface NotifyMessage {
  event: string;
  workload: string | null;
  snapshotId?: string;
  operationId?: string;
  ok: boolean;
  message: string;
  at: string;
  /** healthchecks only: this is the start of a run (`/start` ping). */
  start?: boolean;
}

export interface OutgoingRequest {
  url: string;
  method: "POST" | "GET";
  headers: Record<string, string>;
  body?: string;
}

/** Bad target URL; `message` never contains the URL itself. */
export class NotifyTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotifyTargetError";
  }
}

function targetId(url: string): string {
  return createHmac("sha256", "volsnap-notify-target").update(url).digest("hex").slice(0, 16);
}

/** Parses one configured URL. @throws {NotifyTargetError} */
export function parseTarget(raw: string, position: number): NotifyTarget {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new NotifyTargetError(`target ${position} is not a URL`);
  }
  const id = targetId(raw.trim());
  const label = (type: TargetType) => `${type}:${u.host}`;
  if (u.protocol === "ntfy:" || u.protocol === "ntfys:") {
    const topic = u.pathname.replace(/^\/+/, "");
    if (!u.host || !/^[A-Za-z0-9_-]{1,64}$/.test(topic)) {
      throw new NotifyTargetError(`target ${position}: ntfy needs ntfy://host/topic`);
    }
    const scheme = u.protocol === "ntfys:" ? "https" : "http";
    return { type: "ntfy", url: `${scheme}://${u.host}/${topic}`, label: label("ntfy"), id };
  }
  if (u.protocol === "hc+https:" || u.protocol === "hc+http:") {
    if (!/\/ping\/[^/]+\/?$/.test(u.pathname)) {
      throw new NotifyTargetError(
        `target ${position}: healthchecks needs hc+https://host/ping/<uuid>`,
      );
    }
    const scheme = u.protocol.slice(3, -1);
    const url = `${scheme}://${u.host}${u.pathname.replace(/\/$/, "")}`;
    return { type: "healthchecks", url, label: label("healthchecks"), id };
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new NotifyTargetError(`target ${position}: unsupported scheme ${u.protocol}`);
  }
  if (u.username || u.password) {
    throw new NotifyTargetError(`target ${position}: credentials in the URL are not supported`);
  }
  const url = u.toString();
  const host = u.hostname;
  let type: TargetType = "webhook";
  if (host === "hooks.slack.com") type = "slack";
  else if (/(^|\.)discord(app)?\.com$/.test(host) && u.pathname.startsWith("/api/webhooks/")) {
    type = "discord";
  } else if (u.pathname.includes("/hooks/") && /^\/hooks\/[a-z0-9]{26}$/.test(u.pathname)) {
    type = "mattermost";
  }
  return { type, url, label: label(type), id };
}

/** `VOLSNAP_NOTIFY`: comma-separated URLs. @throws {NotifyTargetError} */
export function parseTargets(list: string): NotifyTarget[] {
  return list.split(",").map((s) => s.trim()).filter(Boolean).map((s, i) => parseTarget(s, i + 1));
}

/** `sha256=<hex HMAC-SHA256 of the raw body>` (X-Volsnap-Signature). */
export function signBody(body: string, secret: string): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

function headline(m: NotifyMessage): string {
  const status = m.ok ? "ok" : "FAILED";
  return `volsnap ${m.event} ${status}${m.workload ? ` (${m.workload})` : ""}: ${m.message}`;
}

const JSON_HEADERS = { "content-type": "application/json" };

/**
 * The request for one message, or null when this target does not take it
 * (healthchecks only hear about captures).
 */
export function buildRequest(
  t: NotifyTarget,
  m: NotifyMessage,
  secret?: string,
): OutgoingRequest | null {
  switch (t.type) {
    case "webhook": {
      const { start: _s, ...payload } = m;
      const body = JSON.stringify(payload);
      const headers: Record<string, string> = { ...JSON_HEADERS };
      if (secret) headers["x-volsnap-signature"] = signBody(body, secret);
      return { url: t.url, method: "POST", headers, body };
    }
    case "ntfy":
      return {
        url: t.url,
        method: "POST",
        headers: {
          "content-type": "text/plain; charset=utf-8",
          title: `volsnap: ${m.event}${m.workload ? ` ${m.workload}` : ""}`,
          priority: m.ok ? "default" : "high",
          tags: m.ok ? "white_check_mark" : "warning",
        },
        body: m.message,
      };
    case "slack":
    case "mattermost":
      return {
        url: t.url,
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ text: headline(m) }),
      };
    case "discord":
      return {
        url: t.url,
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ content: headline(m).slice(0, 2000) }),
      };
    case "healthchecks": {
      if (!m.event.startsWith("capture")) return null;
      const suffix = m.start ? "/start" : m.ok ? "" : "/fail";
      return {
        url: t.url + suffix,
        method: "POST",
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: m.message.slice(0, 10_000),
      };
    }
  }
}
