/**
 * Actions on a workload and its snapshots, each one call of the public API:
 * snapshot now, import, verify, drill, download, pin, delete. Long ones show
 * live progress; every outcome ends in words in the message area.
 */
import { api, downloadArchive, paths, runOperation, uploadFile } from "./api.js";
import { h, openDialog } from "./dom.js";
import { fmtBytes, fmtDuration, fmtNumber, t } from "./i18n.js";
import { say, sayError, showProgress, showTransfer } from "./status.js";

/** Runs `fn`, shows its error in words, hides the progress bar, then `after()`. */
export async function guarded(fn, after) {
  try {
    await fn();
  } catch (err) {
    sayError(err);
  } finally {
    showProgress(null);
    await after?.();
  }
}

export async function snapshotNow(wid, after) {
  const choice = await openDialog(t("snapshot.dialog", { id: wid }), (close) => {
    const quiesce = h(
      "select",
      { id: "quiesce" },
      ["", "stop", "pause", "none"].map((q) =>
        h("option", { value: q }, t(`snapshot.quiesce.${q || "default"}`))
      ),
    );
    const label = h("input", { id: "snap-label", maxlength: 128 });
    return h(
      "form",
      {
        method: "dialog",
        onsubmit: (e) => {
          e.preventDefault();
          close({ quiesce: quiesce.value, label: label.value.trim() });
        },
      },
      h("label", { for: "quiesce" }, t("snapshot.quiesce")),
      quiesce,
      h("label", { for: "snap-label" }, t("snapshot.label")),
      label,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "submit", autofocus: true }, t("snapshot.start")),
        h("button", { type: "button", onclick: () => close() }, t("common.cancel")),
      ),
    );
  });
  if (!choice) return;
  const body = {};
  if (choice.quiesce) body.quiesce = choice.quiesce;
  if (choice.label) body.label = choice.label;
  await guarded(async () => {
    const op = await runOperation("POST", paths.snapshots(wid), body, {}, showProgress);
    const s = op.result;
    say(t("snapshot.done", {
      id: s.id,
      size: fmtBytes(s.sizeBytes),
      downtime: fmtDuration(s.downtimeMs),
    }));
  }, after);
}

export async function importArchive(wid, after) {
  const file = await openDialog(t("import.dialog", { id: wid }), (close) => {
    const input = h("input", { id: "import-file", type: "file", required: true });
    return h(
      "form",
      {
        onsubmit: (e) => {
          e.preventDefault();
          if (input.files?.[0]) close(input.files[0]);
        },
      },
      h("label", { for: "import-file" }, t("import.file")),
      input,
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "submit" }, t("import.start")),
        h("button", { type: "button", onclick: () => close() }, t("common.cancel")),
      ),
    );
  });
  if (!file) return;
  await guarded(async () => {
    const res = await uploadFile(paths.import(wid), file, (done, total, finished) => {
      showTransfer(
        finished ? t("import.checking") : t("import.uploading", {
          name: file.name,
          done: fmtBytes(done),
          total: fmtBytes(total),
        }),
        done,
        total,
      );
    });
    say(t("import.done", { id: res.snapshot.id }));
  }, after);
}

export async function verify(s, after) {
  await guarded(async () => {
    const op = await runOperation("POST", paths.verify(s.id), undefined, {}, showProgress);
    const r = op.result;
    if (r.ok) {
      say(t("verify.done", {
        id: s.id,
        files: fmtNumber(r.fileCount),
        size: fmtBytes(r.uncompressedBytes),
      }));
    } else {sayError({
        code: "integrity_error",
        message: t("verify.failed", { id: s.id, error: r.error }),
      });}
  }, after);
}

export async function drill(s, after) {
  await guarded(async () => {
    const op = await runOperation("POST", paths.drill(s.id), undefined, {}, showProgress);
    const r = op.result ?? {};
    if (r.ok === false) {
      sayError({
        code: "integrity_error",
        message: t("drill.failed", { id: s.id, error: r.error ?? "" }),
      });
    } else say(t("drill.done", { id: s.id }));
  }, after);
}

export async function download(s) {
  await guarded(async () => {
    const r = await downloadArchive(
      s.id,
      (got) =>
        showTransfer(t("download.progress", { id: s.id, done: fmtBytes(got) }), got, s.sizeBytes),
    );
    say(t("download.done", { name: r.name, size: fmtBytes(r.size) }));
  });
}

export async function togglePin(s, after) {
  await guarded(async () => {
    await api(s.pinned ? "DELETE" : "POST", paths.pin(s.id));
    say(t(s.pinned ? "unpin.done" : "pin.done", { id: s.id }));
  }, after);
}

export async function remove(s, after) {
  const ok = await openDialog(t("delete.dialog", { id: s.id }), (close) =>
    h(
      "div",
      {},
      h("p", {}, t("delete.body")),
      h(
        "div",
        { class: "buttons" },
        h("button", {
          type: "button",
          class: "danger",
          onclick: () => close(true),
        }, t("delete.confirm")),
        h(
          "button",
          { type: "button", autofocus: true, onclick: () => close() },
          t("common.cancel"),
        ),
      ),
    ), { danger: true });
  if (!ok) return;
  await guarded(async () => {
    await api("DELETE", paths.snapshot(s.id));
    say(t("delete.done", { id: s.id }));
  }, after);
}
