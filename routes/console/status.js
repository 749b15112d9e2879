/**
 * The console's message area: results in a polite live region, errors in an
 * alert region (in words, with what the server said), and one progress bar
 * for the running operation.
 */
import { fill, h } from "./dom.js";
import { errorWords, fmtBytes, t, tOr } from "./i18n.js";

const $ = (id) => document.getElementById(id);

export function say(text) {
  fill($("alert"));
  fill($("status"), h("p", {}, text));
}

export function sayError(err) {
  const { main, detail, hint } = errorWords(err);
  fill($("status"));
  fill(
    $("alert"),
    h("p", { class: "err" }, main),
    detail ? h("p", {}, detail) : null,
    hint ? h("p", {}, hint) : null,
  );
}

export function clearMessages() {
  fill($("status"));
  fill($("alert"));
}

/** Shows an operation's phase and bytes; `null` hides the bar. */
export function showProgress(op) {
  const box = $("progress");
  if (!op) {
    box.hidden = true;
    fill(box);
    return;
  }
  const kind = tOr(`op.kind.${op.kind}`, op.kind);
  const bar = h("progress", { "aria-label": t("op.progressLabel") });
  if (op.bytesTotal) {
    bar.max = op.bytesTotal;
    bar.value = Math.min(op.bytesDone ?? 0, op.bytesTotal);
  }
  box.hidden = false;
  fill(
    box,
    h("p", {}, t("op.progress", { kind, phase: op.phase ?? "" })),
    bar,
    op.bytesTotal
      ? h("p", {}, t("op.bytes", { done: fmtBytes(op.bytesDone), total: fmtBytes(op.bytesTotal) }))
      : null,
  );
}

/** Upload/download progress in the same bar: text plus bytes. */
export function showTransfer(text, done, total) {
  const box = $("progress");
  const bar = h("progress", { "aria-label": t("op.progressLabel") });
  if (total) {
    bar.max = total;
    bar.value = Math.min(done, total);
  }
  box.hidden = false;
  fill(box, h("p", {}, text), bar);
}
