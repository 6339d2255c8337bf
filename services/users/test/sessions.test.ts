// Register, login, refresh, logout and password change on a real port against real PostgreSQL.
import assert from "node:assert/strict";
import { PasswordChangedSchema, UserRegisteredSchema } from "../../../gen/shop/users/v1/events_pb.js";
import { Code } from "../../../platform/errors.js";
import { as, from, jwksVerifier, outboxEvents, PASSWORD, registerUser, rejectionOf, startUsers, uniqueEmail, type RunningUsers } from "./helpers.js";

describe("users service: sessions (real PostgreSQL)", () => {
  let svc: RunningUsers;

  before(async () => {
    svc = await startUsers({ LOGIN_MAX_FAILURES_PER_ACCOUNT: "3", LOGIN_MAX_FAILURES_PER_ADDRESS: "5" });
  });
  after(async () => {
    await svc.stop();
  });

  it("registers with a normalized email, signs in, and issues tokens that verify against the JWKS", async () => {
    const raw = `  ${uniqueEmail("Mixed").toUpperCase()} `;
    const { user, tokens } = await registerUser(svc.client, { email: raw.trim(), displayName: "  Ann  " });
    assert.equal(user.email, raw.trim().toLowerCase());
    assert.equal(user.displayName, "Ann");
    assert.deepEqual(user.roles, ["customer"]);
    const verified = await jwksVerifier(svc.client).verify(tokens.accessToken);
    assert.equal(verified.subject, user.id);
    assert.deepEqual(verified.roles, ["customer"]);
    assert.equal(verified.name, "Ann", "the display name rides along, for display (reviews' author names)");
    assert.ok(verified.tokenId, "jti");
    const ttl = Number(tokens.accessTokenExpireTime!.seconds) * 1000 - Date.now();
    assert.ok(ttl > 14 * 60_000 && ttl <= 15 * 60_000 + 1000, `access token lives 15 minutes, got ${ttl} ms`);
    const refreshTtl = Number(tokens.refreshTokenExpireTime!.seconds) * 1000 - Date.now();
    assert.ok(refreshTtl > 29 * 86_400_000 && refreshTtl <= 30 * 86_400_000 + 1000, "refresh token lives 30 days");

    const login = await svc.client.login({ email: user.email.toUpperCase(), password: PASSWORD });
    assert.equal(login.user!.id, user.id);
    assert.equal((await jwksVerifier(svc.client).verify(login.tokens!.accessToken)).subject, user.id);
    const profile = await svc.client.getProfile({}, as(login.tokens!.accessToken));
    assert.equal(profile.user!.id, user.id);

    const [event] = (await outboxEvents(svc.db, UserRegisteredSchema)).filter((e) => e.userId === user.id);
    assert.deepEqual({ email: event?.email, displayName: event?.displayName }, { email: user.email, displayName: "Ann" });
  });

  it("refuses a duplicate email, whatever its case, with ALREADY_EXISTS", async () => {
    const { email } = await registerUser(svc.client);
    const err = await rejectionOf(svc.client.register({ email: email.toUpperCase(), password: PASSWORD, displayName: "Twin" }));
    assert.equal(err.code, Code.ALREADY_EXISTS);
  });

  it("refuses a password equal to the email with a field violation", async () => {
    const email = uniqueEmail();
    const err = await rejectionOf(svc.client.register({ email, password: email.toUpperCase(), displayName: "Ann" }));
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    assert.equal(err.violations[0]?.field, "password");
  });

  it("answers a wrong password and an unknown email with the same UNAUTHENTICATED", async () => {
    const { email } = await registerUser(svc.client);
    const wrong = await rejectionOf(svc.client.login({ email, password: "not the password" }, from("10.0.0.1")));
    const unknown = await rejectionOf(svc.client.login({ email: uniqueEmail("nobody"), password: "not the password" }, from("10.0.0.1")));
    assert.equal(wrong.code, Code.UNAUTHENTICATED);
    assert.equal(unknown.code, Code.UNAUTHENTICATED);
    assert.equal(wrong.message, unknown.message);
  });

  it("limits failed sign-ins per account, and a success clears the account's count", async () => {
    const { email } = await registerUser(svc.client);
    const ip = "10.1.0.1";
    for (let i = 0; i < 2; i++) await rejectionOf(svc.client.login({ email, password: "wrong password" }, from(ip)));
    await svc.client.login({ email, password: PASSWORD }, from(ip)); // clears the account's failures
    for (let i = 0; i < 3; i++) {
      assert.equal((await rejectionOf(svc.client.login({ email, password: "wrong password" }, from(`10.1.0.${i + 2}`)))).code, Code.UNAUTHENTICATED);
    }
    // Even the right password is refused now, from any address, and the hint says when to retry.
    const limited = await rejectionOf(svc.client.login({ email, password: PASSWORD }, from("10.1.0.9")));
    assert.equal(limited.code, Code.RESOURCE_EXHAUSTED);
    assert.match(limited.message, /try again in 15 minutes/);
    // An unknown email behaves the same, so the limit does not reveal which accounts exist.
    const ghost = uniqueEmail("ghost");
    for (let i = 0; i < 3; i++) await rejectionOf(svc.client.login({ email: ghost, password: "wrong password" }, from(`10.2.0.${i}`)));
    const ghostLimited = await rejectionOf(svc.client.login({ email: ghost, password: "wrong password" }, from("10.2.0.9")));
    assert.equal(ghostLimited.code, Code.RESOURCE_EXHAUSTED);
    assert.equal(ghostLimited.message, limited.message);
    // The window passes: allowed again.
    svc.clock.advance(15 * 60_000 + 1000);
    await svc.client.login({ email, password: PASSWORD }, from("10.1.0.9"));
  });

  it("limits failed sign-ins per client address across accounts", async () => {
    const ip = "10.3.0.1";
    for (let i = 0; i < 5; i++) await rejectionOf(svc.client.login({ email: uniqueEmail("spray"), password: "wrong password" }, from(ip)));
    const { email } = await registerUser(svc.client);
    assert.equal((await rejectionOf(svc.client.login({ email, password: PASSWORD }, from(ip)))).code, Code.RESOURCE_EXHAUSTED);
    await svc.client.login({ email, password: PASSWORD }, from("10.3.0.2"));
  });

  it("rotates refresh tokens: each works once and yields a working successor", async () => {
    const { refreshToken, user } = await registerUser(svc.client);
    const first = await svc.client.refreshToken({ refreshToken });
    assert.notEqual(first.tokens!.refreshToken, refreshToken);
    assert.equal((await jwksVerifier(svc.client).verify(first.tokens!.accessToken)).subject, user.id);
    const second = await svc.client.refreshToken({ refreshToken: first.tokens!.refreshToken });
    assert.ok(second.tokens!.refreshToken);
  });

  it("revokes the whole family when a spent refresh token is replayed: the newer token stops working too", async () => {
    const { refreshToken } = await registerUser(svc.client);
    const rotated = (await svc.client.refreshToken({ refreshToken })).tokens!;
    const replay = await rejectionOf(svc.client.refreshToken({ refreshToken }));
    assert.equal(replay.code, Code.UNAUTHENTICATED);
    const newer = await rejectionOf(svc.client.refreshToken({ refreshToken: rotated.refreshToken }));
    assert.equal(newer.code, Code.UNAUTHENTICATED);
  });

  it("keeps other sign-ins (families) alive when one family is revoked", async () => {
    const { email, refreshToken } = await registerUser(svc.client);
    const other = (await svc.client.login({ email, password: PASSWORD })).tokens!;
    await svc.client.refreshToken({ refreshToken });
    await rejectionOf(svc.client.refreshToken({ refreshToken })); // replay: revokes the first family
    await svc.client.refreshToken({ refreshToken: other.refreshToken });
  });

  it("refuses an expired refresh token", async () => {
    const { refreshToken } = await registerUser(svc.client);
    svc.clock.advance(30 * 86_400_000 + 1000);
    try {
      assert.equal((await rejectionOf(svc.client.refreshToken({ refreshToken }))).code, Code.UNAUTHENTICATED);
    } finally {
      svc.clock.advance(-(30 * 86_400_000 + 1000));
    }
  });

  it("logs out: the refresh token's family is revoked; logout is idempotent and needs a signed-in caller", async () => {
    const { accessToken, refreshToken } = await registerUser(svc.client);
    const rotated = (await svc.client.refreshToken({ refreshToken })).tokens!;
    await svc.client.logout({ refreshToken: rotated.refreshToken }, as(accessToken));
    await svc.client.logout({ refreshToken: rotated.refreshToken }, as(accessToken));
    assert.equal((await rejectionOf(svc.client.refreshToken({ refreshToken: rotated.refreshToken }))).code, Code.UNAUTHENTICATED);
    assert.equal((await rejectionOf(svc.client.logout({ refreshToken: rotated.refreshToken }))).code, Code.UNAUTHENTICATED);
  });

  it("does not let one user log another out", async () => {
    const victim = await registerUser(svc.client);
    const attacker = await registerUser(svc.client);
    await svc.client.logout({ refreshToken: victim.refreshToken }, as(attacker.accessToken));
    await svc.client.refreshToken({ refreshToken: victim.refreshToken });
  });

  it("changes the password: checks the current one, revokes every refresh token, emits PasswordChanged", async () => {
    const { email, accessToken, refreshToken, user } = await registerUser(svc.client);
    const other = (await svc.client.login({ email, password: PASSWORD })).tokens!;
    const wrong = await rejectionOf(svc.client.changePassword({ currentPassword: "not my password", newPassword: "a brand new passphrase" }, as(accessToken)));
    assert.equal(wrong.code, Code.PERMISSION_DENIED);
    const same = await rejectionOf(svc.client.changePassword({ currentPassword: PASSWORD, newPassword: PASSWORD }, as(accessToken)));
    assert.equal(same.violations[0]?.field, "new_password");

    await svc.client.changePassword({ currentPassword: PASSWORD, newPassword: "a brand new passphrase" }, as(accessToken));
    for (const t of [refreshToken, other.refreshToken]) {
      assert.equal((await rejectionOf(svc.client.refreshToken({ refreshToken: t }))).code, Code.UNAUTHENTICATED);
    }
    assert.equal((await rejectionOf(svc.client.login({ email, password: PASSWORD }))).code, Code.UNAUTHENTICATED);
    await svc.client.login({ email, password: "a brand new passphrase" });
    const events = (await outboxEvents(svc.db, PasswordChangedSchema)).filter((e) => e.userId === user.id);
    assert.deepEqual(events.map((e) => e.email), [email]);
  });

  it("rejects a request without a valid token on signed-in RPCs, and a forged token everywhere", async () => {
    assert.equal((await rejectionOf(svc.client.getProfile({}))).code, Code.UNAUTHENTICATED);
    const { accessToken } = await registerUser(svc.client);
    const [h, p] = accessToken.split(".");
    const forged = `${h}.${p}.${Buffer.from("not a signature").toString("base64url")}`;
    assert.equal((await rejectionOf(svc.client.getProfile({}, as(forged)))).code, Code.UNAUTHENTICATED);
    assert.equal((await rejectionOf(svc.client.getJwks({}, as(forged)))).code, Code.UNAUTHENTICATED);
  });
});
