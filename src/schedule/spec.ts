/**
 * Schedule expressions (SPEC §10): a 5-field cron expression (server local
 * time, or the zone of a `CRON_TZ=Zone ` prefix), `@hourly`, `@daily`,
 * `@weekly`, `@monthly`, `@every <duration>` (at least 10 s), or `off`.
 * Cron matching is croner's; this module only parses the volsnap forms
 * around it and answers "when is the next run after t".
 */
import { Cron } from "croner";

export type ScheduleSpec =
  | { kind: "cron"; expression: string; pattern: string; timezone?: string }
  | { kind: "every"; expression: string; intervalMs: number };

/** Invalid expression; `message` names what is wrong. */
export class ScheduleSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleSyntaxError";
  }
}

export const MIN_EVERY_MS = 10_000;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const NICKNAMES = new Set(["@hourly", "@daily", "@weekly", "@monthly"]);

/** `30s`, `15m`, `6h`, `1h30m`, `2d` → milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!/^(\d+[smhd])+$/.test(t)) return undefined;
  let ms = 0;
  for (const m of t.matchAll(/(\d+)([smhd])/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/**
 * Parses an expression; `null` means `off` (no schedule).
 * @throws {ScheduleSyntaxError} for anything else that is not a valid schedule
 */
export function parseSchedule(text: string): ScheduleSpec | null {
  const expression = text.trim().replace(/\s+/g, " ");
  if (expression === "" || expression.toLowerCase() === "off") return null;
  if (expression.startsWith("@every")) {
    const ms = parseDuration(expression.slice("@every".length));
    if (ms === undefined) {
      throw new ScheduleSyntaxError(`"${expression}": @every needs a duration like 30s, 15m, 6h`);
    }
    if (ms < MIN_EVERY_MS) {
      throw new ScheduleSyntaxError(`"${expression}": @every must be at least 10s`);
    }
    return { kind: "every", expression, intervalMs: ms };
  }
  let pattern = expression;
  let timezone: string | undefined;
  const tz = /^CRON_TZ=(\S+) (.*)$/.exec(expression);
  if (tz) {
    timezone = tz[1];
    pattern = tz[2];
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    } catch {
      throw new ScheduleSyntaxError(`"${expression}": unknown time zone "${timezone}"`);
    }
  }
  if (pattern.startsWith("@")) {
    if (!NICKNAMES.has(pattern)) {
      throw new ScheduleSyntaxError(
        `"${expression}": unknown shortcut (use @hourly, @daily, @weekly, @monthly or @every)`,
      );
    }
  } else if (pattern.split(" ").length !== 5) {
    throw new ScheduleSyntaxError(`"${expression}": a cron expression has exactly 5 fields`);
  }
  try {
    cronOf({ kind: "cron", expression, pattern, timezone }).nextRun(new Date());
  } catch (err) {
    throw new ScheduleSyntaxError(`"${expression}": ${(err as Error).message}`);
  }
  return { kind: "cron", expression, pattern, timezone };
}

function cronOf(spec: Extract<ScheduleSpec, { kind: "cron" }>): Cron {
  return new Cron(spec.pattern, { paused: true, timezone: spec.timezone, legacyMode: true });
}

/** The first due time strictly after `after` (for `@every`: `after` + the interval). */
export function nextRunAfter(spec: ScheduleSpec, after: Date): Date {
  if (spec.kind === "every") return new Date(after.getTime() + spec.intervalMs);
  const next = cronOf(spec).nextRun(after);
  if (!next) throw new ScheduleSyntaxError(`"${spec.expression}" never falls due again`);
  return next;
}
