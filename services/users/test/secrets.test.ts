// Passwords, password hashes, refresh tokens and private keys never leave the service: not in
// responses, not in logs. Every log line of the process is captured while the service runs at
// debug level, and searched for each secret the flows handled.
import assert from "node:assert/strict";
import { Code } from "../../../platform/errors.js";
import { as, from, registerUser, rejectionOf, startUsers, type RunningUsers } from "./helpers.js";

/** Captures JSON log lines written to stdout (the platform logger's default sink), passing other output through. */
function captureStdout(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    if (text.startsWith("{")) {
      lines.push(...text.split("\n").filter((l) => l.length > 0));
      return true;
    }
    return original(chunk, ...(rest as []));
  };
  return { lines, restore: () => void (process.stdout.write = original) };
}

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));

describe("users service: secrets stay secret (real PostgreSQL)", () => {
  let svc: RunningUsers;
  let capture: ReturnType<typeof captureStdout>;

  before(async () => {
    capture = captureStdout();
    svc = await startUsers({ LOG_LEVEL: "debug", LOGIN_MAX_FAILURES_PER_ACCOUNT: "2" });
  });
  after(async () => {
    try {
      await svc.stop();
    } finally {
      capture.restore();
    }
  });

  it("returns and logs no password, hash, refresh token or private key in any flow", async () => {
    const password = "first secret passphrase";
    const wrongPassword = "guessed secret passphrase";
    const newPassword = "second secret passphrase";
    const responses: unknown[] = [];
    const tokens: string[] = [];

    const reg = await registerUser(svc.client, { password });
    responses.push(reg.user, reg.tokens);
    tokens.push(reg.accessToken, reg.refreshToken);
    responses.push(await svc.client.getProfile({}, as(reg.accessToken)));
    responses.push(await svc.client.getJwks({}));
    for (let i = 0; i < 2; i++) await rejectionOf(svc.client.login({ email: reg.email, password: wrongPassword }, from("10.9.0.1")));
    assert.equal((await rejectionOf(svc.client.login({ email: reg.email, password }, from("10.9.0.1")))).code, Code.RESOURCE_EXHAUSTED);
    svc.clock.advance(16 * 60_000);
    const login = await svc.client.login({ email: reg.email, password }, from("10.9.0.1"));
    responses.push(login);
    tokens.push(login.tokens!.accessToken, login.tokens!.refreshToken);
    const refreshed = await svc.client.refreshToken({ refreshToken: login.tokens!.refreshToken });
    responses.push(refreshed);
    tokens.push(refreshed.tokens!.accessToken, refreshed.tokens!.refreshToken);
    await rejectionOf(svc.client.refreshToken({ refreshToken: login.tokens!.refreshToken })); // replay
    await rejectionOf(svc.client.changePassword({ currentPassword: wrongPassword, newPassword }, as(reg.accessToken)));
    await rejectionOf(svc.client.changePassword({ currentPassword: password, newPassword: "short" }, as(reg.accessToken)));
    responses.push(await svc.client.changePassword({ currentPassword: password, newPassword }, as(reg.accessToken)));
    responses.push(await svc.client.logout({ refreshToken: reg.refreshToken }, as(reg.accessToken)));

    const hashes = (await svc.db.query<{ password_hash: string }>("SELECT password_hash FROM users")).rows.map((r) => r.password_hash);
    const privateParts = (await svc.db.query<{ d: string }>("SELECT private_jwk->>'d' AS d FROM signing_keys")).rows.map((r) => r.d);
    const refreshHashes = (await svc.db.query<{ h: string }>("SELECT encode(token_hash, 'hex') AS h FROM refresh_tokens")).rows.map((r) => r.h);
    assert.ok(hashes.every((h) => h.startsWith("$argon2id$v=19$m=19456,t=2,p=1$")), "argon2id at OWASP parameters");
    assert.ok(privateParts.length > 0 && refreshHashes.length > 0);

    const out = json(responses);
    for (const secret of [password, wrongPassword, newPassword, ...hashes, ...privateParts]) {
      assert.ok(!out.includes(secret), "a response carries a password, hash or private key");
    }
    assert.ok(!out.includes("$argon2"));

    const logs = capture.lines.join("\n");
    // The capture works: the failed calls and the replay were logged.
    assert.match(logs, /"rpc failed"/);
    assert.match(logs, /spent refresh token presented again/);
    for (const secret of [password, wrongPassword, newPassword, ...hashes, ...privateParts, ...tokens, ...refreshHashes]) {
      assert.ok(!logs.includes(secret), "a log line carries a secret");
    }
    assert.ok(!logs.includes("$argon2"));
    // Nothing even tried to log a secret (the logger's redaction is a last line of defence, not
    // the plan). The start-up line masks settings whose names merely contain "token".
    const redacted = capture.lines.filter((l) => l.includes("REDACTED") && !l.includes('"msg":"starting"'));
    assert.deepEqual(redacted, []);
  });
});
