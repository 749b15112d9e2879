/**
 * Translation and locale formatting for the console: t(key, params) from the
 * one catalog (messages.js), and dates, sizes and durations through Intl in
 * the chosen language. The language is the user's switch (localStorage),
 * else the one the server picked from Accept-Language (<html lang>).
 */
import { LANGUAGES, MESSAGES } from "./messages.js";

const STORE_KEY = "volsnap-lang";
let lang = LANGUAGES[0];

export function getLang() {
  return lang;
}

/** Sets the language for t() and the formatters, and remembers a user's choice. */
export function setLang(next, remember = false) {
  lang = LANGUAGES.includes(next) ? next : LANGUAGES[0];
  document.documentElement.lang = lang;
  if (remember) localStorage.setItem(STORE_KEY, lang);
}

/** The user's earlier switch wins; else the server's Accept-Language pick. */
export function initialLang() {
  const stored = localStorage.getItem(STORE_KEY);
  if (stored && LANGUAGES.includes(stored)) return stored;
  return document.documentElement.lang || LANGUAGES[0];
}

/** The message for `key` with `{name}` placeholders filled; plural forms by `params.count`. */
export function t(key, params = {}) {
  let msg = MESSAGES[lang][key] ?? MESSAGES[LANGUAGES[0]][key];
  if (msg === undefined) return key;
  if (typeof msg === "object") {
    const cat = new Intl.PluralRules(lang).select(Number(params.count ?? 0));
    msg = msg[cat] ?? msg.other;
  }
  return msg.replace(/\{(\w+)\}/g, (m, name) => name in params ? String(params[name]) : m);
}

/** t() when the key exists, else `fallback` (for values the server may add later). */
export function tOr(key, fallback) {
  return key in MESSAGES[LANGUAGES[0]] ? t(key) : fallback;
}

export function fmtDate(iso) {
  if (!iso) return t("common.none");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" }).format(d);
}

export function fmtShortDate(iso) {
  const d = new Date(iso);
  return new Intl.DateTimeFormat(lang, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  })
    .format(d);
}

const SIZE_UNITS = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"];

/** Decimal units (kB, MB, …), as Intl names them in each language. */
export function fmtBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return t("common.none");
  let v = Number(n);
  let i = 0;
  while (v >= 1000 && i < SIZE_UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return new Intl.NumberFormat(lang, {
    style: "unit",
    unit: SIZE_UNITS[i],
    unitDisplay: "short",
    maximumFractionDigits: i === 0 ? 0 : v < 10 ? 2 : 1,
  }).format(v);
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(Number(ms))) return t("common.none");
  const v = Number(ms);
  const [value, unit] = v < 1000 ? [v, "millisecond"] : v < 120_000 ? [v / 1000, "second"] : [
    v / 60_000,
    "minute",
  ];
  return new Intl.NumberFormat(lang, {
    style: "unit",
    unit,
    unitDisplay: "short",
    maximumFractionDigits: unit === "millisecond" ? 0 : 1,
  }).format(value);
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(lang).format(Number(n));
}

/** The words for an API error (busy, blocked, no space, …) plus what the server said. */
export function errorWords(err) {
  const code = err?.code ?? "unknown";
  const main = `error.${code}` in MESSAGES[LANGUAGES[0]]
    ? t(`error.${code}`)
    : t("error.unknown", { code });
  return {
    main,
    detail: err?.message ? t("error.detail", { message: err.message }) : "",
    hint: err?.hint ? t("error.hint", { hint: err.hint }) : "",
  };
}
