import { assert, assertEquals, assertRejects, assertThrows } from "../_fakes/assert.ts";
import { checkBearer, loadOrCreateToken, tokensEqual } from "../../src/auth/token.ts";
import { AppError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/log.ts";

Deno.test("the token file is generated once with mode 0600 and reused on restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadOrCreateToken(dir, undefined, silentLogger);
    assertEquals(first.source, `${dir}/token`);
    assert(/^[0-9a-f]{64}$/.test(first.token), first.token);
    assertEquals((await Deno.stat(`${dir}/token`)).mode! & 0o777, 0o600);
    const second = await loadOrCreateToken(dir, undefined, silentLogger);
    assertEquals(second.token, first.token);
    // No temp file is left beside it.
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assertEquals(names, ["token"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a configured token wins and no file is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t = await loadOrCreateToken(dir, "configured-token-123456", silentLogger);
    assertEquals(t, { token: "configured-token-123456", source: "VOLSNAP_TOKEN" });
    await assertRejects(() => Deno.stat(`${dir}/token`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a token file readable by others is tightened to 0600", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "existing-token-abcdef\n", { mode: 0o644 });
    await Deno.chmod(`${dir}/token`, 0o644);
    const t = await loadOrCreateToken(dir, undefined, silentLogger);
    assertEquals(t.token, "existing-token-abcdef");
    assertEquals((await Deno.stat(`${dir}/token`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bearer check accepts only the exact token", () => {
  checkBearer("Bearer abc-secret-token", "abc-secret-token");
  checkBearer("bearer   abc-secret-token", "abc-secret-token");
  for (const h of [undefined, "", "Bearer", "Bearer abc-secret-toke", "Basic abc-secret-token"]) {
    assertThrows(() => checkBearer(h, "abc-secret-token"), (e) => {
      assert(e instanceof AppError && e.status === 401);
    });
  }
  assert(!tokensEqual("a", "ab"));
  assert(tokensEqual("same", "same"));
});
