/**
 * Retention (SPEC §4.5), pure: which snapshots of one workload to delete.
 *
 *   origin buckets: `capture` + `scheduled` share the workload's policy
 *     (keep-last N, plus daily/weekly/monthly); `imported`, `remote`,
 *     `pre-restore` and `pre-upgrade` each keep their own last N (never
 *     fewer than 2), so no origin ever pushes another one's snapshots out;
 *   pinned snapshots are never pruned; nor is the newest verified one;
 *   an origin this code does not know is never pruned.
 *
 * The policy comes from labels parsed strictly: a label that does not parse
 * (`keep-last=0`, `keep-last=30d`, two containers that disagree) is an error,
 * never a silent default, and the caller prunes nothing.
 */
export interface RetentionPolicy {
  keepLast: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  /** keep-last of each non-capture origin. */
  preRestoreKeepLast: number;
  importedKeepLast: number;
  remoteKeepLast: number;
  preUpgradeKeepLast: number;
}

export interface RetentionItem {
  id: string;
  createdAt: string;
  origin: string;
  lastVerifyOk?: boolean | null;
  pinned?: boolean | null;
}

/** Origins that count as the workload's own captures. */
export const CAPTURE_ORIGINS = ["capture", "scheduled"] as const;
/** Minimum keep-last of every non-capture origin: never just one. */
export const MIN_OTHER_KEEP = 2;

export const RETENTION_LABELS = {
  keepLast: "volsnap.keep-last",
  keepDaily: "volsnap.keep-daily",
  keepWeekly: "volsnap.keep-weekly",
  keepMonthly: "volsnap.keep-monthly",
} as const;

export type PolicyResult = { policy: RetentionPolicy; error?: undefined } | {
  policy?: undefined;
  error: string;
};

/**
 * The workload's policy: `defaults` overridden by its containers' labels.
 * Returns an error (and no policy) when any label is malformed.
 */
export function parseRetentionPolicy(
  defaults: { keepLast: number; preRestoreKeepLast: number },
  labelSets: Record<string, string>[],
): PolicyResult {
  const policy: RetentionPolicy = {
    keepLast: defaults.keepLast,
    preRestoreKeepLast: Math.max(defaults.preRestoreKeepLast, MIN_OTHER_KEEP),
    importedKeepLast: Math.max(defaults.keepLast, MIN_OTHER_KEEP),
    remoteKeepLast: Math.max(defaults.keepLast, MIN_OTHER_KEEP),
    preUpgradeKeepLast: Math.max(defaults.preRestoreKeepLast, MIN_OTHER_KEEP),
  };
  for (
    const [key, label] of Object.entries(RETENTION_LABELS) as [
      keyof typeof RETENTION_LABELS,
      string,
    ][]
  ) {
    const values = [...new Set(labelSets.map((l) => l[label]).filter((v) => v !== undefined))];
    if (values.length === 0) continue;
    if (values.length > 1) {
      return {
        error: `label ${label} has conflicting values ${values.map((v) => `"${v}"`).join(", ")}`,
      };
    }
    const raw = values[0].trim();
    const min = key === "keepLast" ? 1 : 0;
    if (!/^\d{1,6}$/.test(raw) || Number(raw) < min) {
      return {
        error: `label ${label}="${values[0]}" is not a whole number ${
          min ? "of at least 1" : "of 0 or more"
        }; nothing is pruned until it is fixed`,
      };
    }
    policy[key] = Number(raw);
  }
  return { policy };
}

/** Returns the ids to delete. */
export function planPrune(items: RetentionItem[], policy: RetentionPolicy): string[] {
  const newestFirst = [...items].sort((a, b) =>
    b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)
  );
  const keep = new Set<string>();
  const byOrigin = (...origins: string[]) => newestFirst.filter((s) => origins.includes(s.origin));
  const keepLast = (list: RetentionItem[], n: number) =>
    list.slice(0, n).forEach((s) => keep.add(s.id));

  const captures = byOrigin(...CAPTURE_ORIGINS);
  keepLast(captures, Math.max(policy.keepLast, 1));
  const bucket = (n: number | undefined, keyOf: (d: Date) => string) => {
    if (!n) return;
    const seen = new Set<string>();
    for (const s of captures) {
      const k = keyOf(new Date(s.createdAt));
      if (seen.has(k)) continue;
      seen.add(k);
      keep.add(s.id);
      if (seen.size >= n) break;
    }
  };
  bucket(policy.keepDaily, (d) => d.toISOString().slice(0, 10));
  bucket(policy.keepWeekly, isoWeek);
  bucket(policy.keepMonthly, (d) => d.toISOString().slice(0, 7));

  const others: [string, number][] = [
    ["pre-restore", policy.preRestoreKeepLast],
    ["imported", policy.importedKeepLast],
    ["remote", policy.remoteKeepLast],
    ["pre-upgrade", policy.preUpgradeKeepLast],
  ];
  for (const [origin, n] of others) keepLast(byOrigin(origin), Math.max(n, MIN_OTHER_KEEP));

  const known = new Set<string>([...CAPTURE_ORIGINS, ...others.map(([o]) => o)]);
  for (const s of newestFirst) {
    if (s.pinned || !known.has(s.origin)) keep.add(s.id);
  }
  const newestVerified = newestFirst.find((s) => s.lastVerifyOk);
  if (newestVerified) keep.add(newestVerified.id);
  return newestFirst.filter((s) => !keep.has(s.id)).map((s) => s.id);
}

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86400000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${week}`;
}
