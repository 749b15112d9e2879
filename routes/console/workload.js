/**
 * One workload: state, schedule and coverage, its snapshots (time, origin,
 * size, downtime, verified/drilled, copies, pin) with the chart, and the
 * actions. Fields that this server version does not report (drills, copies,
 * pins) are left out rather than guessed.
 */
import { api, paths } from "./api.js";
import { h, table } from "./dom.js";
import { fmtBytes, fmtDate, fmtDuration, t, tOr } from "./i18n.js";
import {
  download,
  drill,
  importArchive,
  remove,
  snapshotNow,
  togglePin,
  verify,
} from "./actions.js";
import { snapshotChart } from "./chart.js";
import { restore } from "./restore.js";
import { coverage, loadSchedules, stateLine } from "./workloads.js";

/** Builds the view (nodes for <main>); `refresh()` redraws after an action. */
export async function renderWorkload(wid, refresh) {
  const [{ workload: w }, { snapshots }] = await Promise.all([
    api("GET", paths.workload(wid)),
    api("GET", paths.snapshots(wid)),
  ]);
  const schedules = await loadSchedules([w]);
  const again = () => refresh();
  const has = (field) => snapshots.some((s) => field in s);
  const cols = [
    [t("snapshots.created"), (s) => h("time", { datetime: s.createdAt }, fmtDate(s.createdAt))],
    [t("snapshots.id"), (s) => h("code", {}, s.id)],
    [
      t("snapshots.origin"),
      (s) => [tOr(`origin.${s.origin}`, s.origin), s.label ? ` · ${s.label}` : ""],
    ],
    [t("snapshots.size"), (s) => fmtBytes(s.sizeBytes)],
    [t("snapshots.downtime"), (s) => fmtDuration(s.downtimeMs)],
    [t("snapshots.verified"), (s) => [
      result(s.lastVerifyOk, s.lastVerifiedAt),
      s.consistent === false
        ? h("span", { class: "err" }, ` ${t("snapshots.inconsistent")}`)
        : null,
    ]],
    has("lastDrillAt")
      ? [t("snapshots.drilled"), (s) => result(s.lastDrillOk, s.lastDrillAt)]
      : null,
    has("locations") ? [t("snapshots.locations"), locations] : null,
    has("pinned")
      ? [t("snapshots.pinned"), (s) => s.pinned ? t("common.yes") : t("common.no")]
      : null,
    [t("snapshots.actions"), (s) => actions(w.id, s, again)],
  ].filter(Boolean);

  return [
    h("p", {}, h("a", { href: "#/" }, t("workload.back"))),
    h("h2", {}, w.id),
    h(
      "div",
      { class: "buttons", role: "group", "aria-label": w.id },
      h(
        "button",
        { type: "button", onclick: () => snapshotNow(w.id, again) },
        t("action.snapshotNow"),
      ),
      h(
        "button",
        { type: "button", onclick: () => importArchive(w.id, again) },
        t("action.import"),
      ),
    ),
    stateLine(w, schedules.get(w.id)),
    h("h3", {}, t("coverage.heading")),
    coverage(w),
    h("h3", {}, t("snapshots.heading")),
    snapshots.length ? snapshotChart(snapshots) : h("p", {}, t("snapshots.empty")),
    snapshots.length
      ? table(
        t("snapshots.count", { count: snapshots.length }),
        cols.map((c) => c[0]),
        snapshots.map((s) => cols.map((c) => c[1](s))),
        { class: "snapshots" },
      )
      : null,
  ];
}

function result(ok, at) {
  if (ok === null || ok === undefined) return t("common.none");
  return ok
    ? h("span", { class: "ok" }, t("snapshots.ok", { time: fmtDate(at) }))
    : h("span", { class: "err" }, t("snapshots.failed", { time: fmtDate(at) }));
}

function locations(s) {
  if (!Array.isArray(s.locations) || !s.locations.length) return t("common.none");
  return s.locations.map((l, i) => [
    i ? ", " : "",
    `${tOr(`location.${l.kind}`, l.kind)}: ${tOr(`location.${l.state}`, l.state)}`,
  ]);
}

function actions(wid, s, again) {
  const btn = (key, fn, cls) =>
    h("button", {
      type: "button",
      class: cls,
      "aria-label": t("action.forSnapshot", { action: t(key), id: s.id }),
      onclick: fn,
    }, t(key));
  return h(
    "div",
    { class: "row-actions" },
    btn("action.restore", () => restore(wid, s, again), "danger"),
    btn("action.verify", () => verify(s, again)),
    "lastDrillAt" in s ? btn("action.drill", () => drill(s, again)) : null,
    btn("action.download", () => download(s)),
    "pinned" in s ? btn(s.pinned ? "action.unpin" : "action.pin", () => togglePin(s, again)) : null,
    btn("action.delete", () => remove(s, again), "danger"),
  );
}
