/**
 * The console's one message catalog: every string the console shows, in
 * English and Russian. Browser module and server module at once (the server
 * reads LANGUAGES to answer Accept-Language). A value is a string with
 * `{name}` placeholders, or an object of Intl.PluralRules categories for
 * strings that take a `{count}`. tests/console/messages_test.ts checks that
 * every key, placeholder and plural category exists in every language.
 * Each language lives in its own file (messages_<lang>.js).
 */
import { EN } from "./messages_en.js";
import { RU } from "./messages_ru.js";

/** Languages in the switch, in this order; the first is the fallback. */
export const LANGUAGES = ["en", "ru"];

/** The name of each language in itself, for the switch. */
export const LANGUAGE_NAMES = { en: "English", ru: "Русский" };

export const MESSAGES = { en: EN, ru: RU };
