/**
 * Retention planning (pure). Captures and imports follow keep-last N plus
 * optional daily/weekly/monthly buckets; pre-restore snapshots follow their
 * own keep-last. The newest verified snapshot of a workload is never pruned.
 */
export interface RetentionPolicy {
  keepLast: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  preRestoreKeepLast: number;
}

export interface RetentionItem {
  id: string;
  createdAt: string;
  origin: string;
  lastVerifyOk?: boolean | null;
}

/** Returns the ids to delete. */
export function planPrune(items: RetentionItem[], policy: RetentionPolicy): string[] {
  const newestFirst = [...items].sort((a, b) =>
    b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)
  );
  const keep = new Set<string>();
  const pre = newestFirst.filter((s) => s.origin === "pre-restore");
  const regular = newestFirst.filter((s) => s.origin !== "pre-restore");
  pre.slice(0, Math.max(policy.preRestoreKeepLast, 2)).forEach((s) => keep.add(s.id));
  regular.slice(0, Math.max(policy.keepLast, 1)).forEach((s) => keep.add(s.id));
  const bucket = (n: number | undefined, keyOf: (d: Date) => string) => {
    if (!n) return;
    const seen = new Set<string>();
    for (const s of regular) {
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
