/**
 * The console's message catalog: every key, placeholder and plural form in
 * every language, and every key the console's modules ask for exists.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { LANGUAGE_NAMES, LANGUAGES, MESSAGES } from "../../routes/console/messages.js";

type Catalog = Record<string, Record<string, string | Record<string, string>>>;
const catalog = MESSAGES as Catalog;
const placeholders = (v: string | Record<string, string>) =>
  [...new Set(Object.values(typeof v === "string" ? { v } : v).join(" ").match(/\{\w+\}/g) ?? [])]
    .sort();

Deno.test("every message key exists in every language, with the same placeholders", () => {
  assertEquals(LANGUAGES, ["en", "ru"]);
  const keys = (l: string) => Object.keys(catalog[l]).sort();
  for (const lang of LANGUAGES) {
    assert(lang in LANGUAGE_NAMES, `${lang} has a name for the switch`);
    assertEquals(keys(lang), keys("en"), `keys of ${lang}`);
    for (const key of keys("en")) {
      assertEquals(
        placeholders(catalog[lang][key]),
        placeholders(catalog.en[key]),
        `placeholders of ${lang} ${key}`,
      );
      assert(
        JSON.stringify(catalog[lang][key]).replace(/\{\w+\}/g, "").trim() !== '""',
        `${lang} ${key} is not empty`,
      );
    }
  }
});

Deno.test("plural messages have every plural category their language uses", () => {
  for (const lang of LANGUAGES) {
    const needed = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
    for (const [key, v] of Object.entries(catalog[lang])) {
      if (typeof v === "string") continue;
      for (const cat of needed) assert(cat in v, `${lang} ${key} lacks plural form "${cat}"`);
      assert(typeof catalog.en[key] === "object", `${key} is plural in English too`);
    }
  }
  // Russian really needs its three forms: 1 снимок, 2 снимка, 5 снимков.
  const forms = [1, 2, 5].map((n) => new Intl.PluralRules("ru").select(n));
  assertEquals(forms, ["one", "few", "many"]);
});

Deno.test("every message key the console's modules use is in the catalog", async () => {
  const dir = new URL("../../routes/console/", import.meta.url);
  const used = new Set<string>();
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".js") || e.name.startsWith("messages")) continue;
    const src = await Deno.readTextFile(new URL(e.name, dir));
    // Literal keys: t("a.b"), tOr("a.b", …) and btn("action.x", …).
    for (const m of src.matchAll(/\b(?:t|tOr|btn)\(\s*"([a-z][\w.-]*)"/g)) used.add(m[1]);
    // Keys chosen by a ternary: t(x ? "a.b" : "c.d").
    for (const m of src.matchAll(/\?\s*"([a-z]+\.[\w.-]+)"\s*:\s*"([a-z]+\.[\w.-]+)"/g)) {
      used.add(m[1]);
      used.add(m[2]);
    }
  }
  assert(used.size > 100, `found the keys in use (${used.size})`);
  const missing = [...used].filter((k) => !(k in catalog.en));
  assertEquals(missing, []);
});
