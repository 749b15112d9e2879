/**
 * The guarded restore: (1) a dry run shows the plan (volume mapping, disk
 * space per filesystem, containers that will stop) and changes nothing;
 * (2) a danger dialog enables its button only when the snapshot id is typed
 * exactly; (3) the restore runs with X-Confirm-Restore and its progress is
 * followed live; (4) the result, or the error in words.
 */
import { api, paths, runOperation } from "./api.js";
import { h, openDialog, table } from "./dom.js";
import { fmtBytes, fmtDuration, t } from "./i18n.js";
import { guarded } from "./actions.js";
import { say, sayError, showProgress } from "./status.js";

export async function restore(wid, s, after) {
  let plan;
  try {
    ({ plan } = await api("POST", paths.restore(wid), {
      body: { snapshotId: s.id, dryRun: true },
    }));
  } catch (err) {
    return sayError(err);
  }
  if (!await showPlan(wid, s, plan)) return;
  if (!await confirmTyped(wid, s)) return;
  await guarded(async () => {
    const op = await runOperation(
      "POST",
      paths.restore(wid),
      { snapshotId: s.id },
      { "x-confirm-restore": s.id },
      showProgress,
    );
    const r = op.result;
    say(t("restore.done", {
      id: s.id,
      volumes: r.volumes.join(", "),
      downtime: fmtDuration(r.downtimeMs),
    }));
    const extra = [
      r.preRestoreSnapshotId ? t("restore.preRestore", { id: r.preRestoreSnapshotId }) : null,
      r.startError ? t("restore.startError", { error: r.startError }) : null,
      r.preRestoreError ? t("restore.preRestoreError", { error: r.preRestoreError }) : null,
    ].filter(Boolean);
    for (const line of extra) document.getElementById("status").append(h("p", {}, line));
  }, after);
}

function showPlan(wid, s, plan) {
  return openDialog(t("restore.planDialog", { id: s.id }), (close) =>
    h(
      "div",
      {},
      h("p", {}, t("restore.planIntro", { workload: wid })),
      plan.foreign ? h("p", { class: "err" }, t("restore.foreign")) : null,
      table(
        t("restore.mapping"),
        [
          t("restore.fromArchive"),
          t("restore.toTarget"),
          t("restore.destination"),
          t("restore.bytes"),
        ],
        plan.volumes.map((v) => [
          v.archiveKey,
          h("span", {}, v.targetKey, h("br"), h("code", {}, v.hostPath)),
          v.destination,
          fmtBytes(v.uncompressedBytes),
        ]),
      ),
      table(
        t("restore.space"),
        [t("restore.filesystem"), t("restore.needed"), t("restore.available")],
        (plan.space ?? []).map((f) => [
          h("code", {}, f.path),
          fmtBytes(f.neededBytes),
          fmtBytes(f.availableBytes),
        ]),
      ),
      h("h3", {}, t("restore.stops")),
      plan.containersToStop.length
        ? h("ul", {}, plan.containersToStop.map((c) => h("li", {}, c)))
        : h("p", {}, t("restore.stopsNone")),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", onclick: () => close(true) }, t("restore.continue")),
        h(
          "button",
          { type: "button", autofocus: true, onclick: () => close() },
          t("common.cancel"),
        ),
      ),
    ));
}

function confirmTyped(wid, s) {
  return openDialog(t("restore.dangerDialog", { workload: wid }), (close) => {
    const input = h("input", {
      id: "confirm-id",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": "confirm-help",
    });
    const help = h("p", { id: "confirm-help", class: "muted" });
    const go = h(
      "button",
      { type: "submit", class: "danger", disabled: true },
      t("restore.confirm"),
    );
    const matches = () => input.value.trim() === s.id;
    input.addEventListener("input", () => {
      go.disabled = !matches();
      help.textContent = input.value && !matches() ? t("restore.mismatch", { id: s.id }) : "";
    });
    return h(
      "form",
      {
        onsubmit: (e) => {
          e.preventDefault();
          if (matches()) close(true);
        },
      },
      h("p", {}, t("restore.dangerBody", { id: s.id })),
      h("p", {}, h("code", {}, s.id)),
      h("label", { for: "confirm-id" }, t("restore.typeId")),
      input,
      help,
      h(
        "div",
        { class: "buttons" },
        go,
        h("button", { type: "button", onclick: () => close() }, t("common.cancel")),
      ),
    );
  }, { danger: true });
}
