// Domain rules in memory: email normalization, password policy, roles, page tokens, and the
// sign-in limit arithmetic.
import assert from "node:assert/strict";
import { Code, type ShopError } from "../../../platform/errors.js";
import { normalizeEmail } from "../email.js";
import { combineLimits, limitStatus, retryHint } from "../login-limits.js";
import { decodePageToken, encodePageToken, pageSize } from "../../../platform/page-token.js";
import { passwordProblem } from "../password-policy.js";
import { checkRoleChange, normalizeRoles, rolesForNewAccount, sameRoles } from "../roles.js";

describe("users domain rules", () => {
  describe("email normalization", () => {
    it("trims and lower-cases, so differently typed emails are one account", () => {
      assert.equal(normalizeEmail("  Ann.Lee+Shop@Example.COM \n"), "ann.lee+shop@example.com");
      assert.equal(normalizeEmail("ANN@EXAMPLE.COM"), normalizeEmail("ann@example.com"));
    });
  });

  describe("password policy", () => {
    const email = "ann@example.com";
    it("accepts 10 to 128 characters, counted as characters, not bytes", () => {
      assert.equal(passwordProblem("a".repeat(10), email), undefined);
      assert.equal(passwordProblem("a".repeat(128), email), undefined);
      assert.equal(passwordProblem("ü".repeat(10), email), undefined); // 20 bytes, 10 characters
      assert.equal(passwordProblem("😀".repeat(10), email), undefined); // 20 UTF-16 units, 10 characters
      assert.match(passwordProblem("a".repeat(9), email) ?? "", /at least 10/);
      assert.match(passwordProblem("😀".repeat(129), email) ?? "", /at most 128/);
    });
    it("rejects the account's own email in any case, and blank passwords", () => {
      assert.match(passwordProblem(" ANN@Example.com ", email) ?? "", /email/);
      assert.match(passwordProblem(" ".repeat(12), email) ?? "", /spaces/);
      assert.equal(passwordProblem("ann@example.com!", email), undefined);
    });
  });

  describe("roles", () => {
    it("gives the configured admin email the admin role at registration, everyone else customer", () => {
      assert.deepEqual(rolesForNewAccount("boss@example.com", "boss@example.com"), ["customer", "admin"]);
      assert.deepEqual(rolesForNewAccount("ann@example.com", "boss@example.com"), ["customer"]);
      assert.deepEqual(rolesForNewAccount("ann@example.com", undefined), ["customer"]);
    });
    it("compares role sets regardless of order and duplicates", () => {
      assert.deepEqual(normalizeRoles(["admin", "customer", "admin", "root"]), ["customer", "admin"]);
      assert.ok(sameRoles(["admin", "customer"], ["customer", "admin"]));
      assert.ok(!sameRoles(["customer"], ["customer", "admin"]));
    });
    it("refuses an admin removing their own admin role, not another admin doing it", () => {
      assert.throws(() => checkRoleChange("u1", "u1", ["customer"]), (e: ShopError) => e.code === Code.FAILED_PRECONDITION);
      checkRoleChange("u1", "u1", ["admin"]);
      checkRoleChange("u1", "u2", []);
    });
  });

  describe("page tokens", () => {
    const key = { time: new Date("2025-01-02T03:04:05.678Z"), id: "0d4c9a5e-7f51-4b5e-9a59-1b2c3d4e5f60" };
    it("round-trip the sort key exactly, to the millisecond", () => {
      assert.deepEqual(decodePageToken(encodePageToken(key)), key);
      assert.deepEqual(decodePageToken(encodePageToken({ ...key, flag: true })), { ...key, flag: true });
      assert.equal(decodePageToken(""), undefined);
    });
    it("reject anything else as INVALID_ARGUMENT on page_token", () => {
      for (const bad of ["%%%", Buffer.from("[]").toString("base64url"), Buffer.from(JSON.stringify({ t: "x", i: key.id })).toString("base64url"), Buffer.from(JSON.stringify({ t: key.time, i: "1; DROP TABLE" })).toString("base64url")]) {
        assert.throws(() => decodePageToken(bad), (e: ShopError) => e.code === Code.INVALID_ARGUMENT && e.violations[0]?.field === "page_token", bad);
      }
    });
    it("default the page size when the caller gives none", () => {
      assert.equal(pageSize(0), 50);
      assert.equal(pageSize(7), 7);
    });
  });

  describe("sign-in limits", () => {
    const policy = { maxFailures: 3, windowMs: 15 * 60_000 };
    const now = new Date("2025-01-01T12:00:00Z");
    const ago = (ms: number) => new Date(now.getTime() - ms);

    it("allows attempts below the limit and refuses at it", () => {
      assert.deepEqual(limitStatus([ago(1000), ago(2000)], policy, now), { limited: false });
      assert.equal(limitStatus([ago(1000), ago(2000), ago(3000)], policy, now).limited, true);
    });
    it("ignores failures outside the window", () => {
      assert.deepEqual(limitStatus([ago(1000), ago(2000), ago(policy.windowMs + 1)], policy, now), { limited: false });
    });
    it("says when the next attempt is allowed: when the limit-th newest failure leaves the window", () => {
      const status = limitStatus([ago(60_000), ago(120_000), ago(600_000), ago(700_000)], policy, now);
      assert.deepEqual(status, { limited: true, retryAfterMs: policy.windowMs - 600_000 });
      assert.equal(retryHint(policy.windowMs - 600_000), "5 minutes");
      assert.equal(retryHint(1000), "1 second");
    });
    it("combines the account and address limits into the longer wait", () => {
      const a = { limited: true, retryAfterMs: 1000 } as const;
      const b = { limited: true, retryAfterMs: 5000 } as const;
      assert.deepEqual(combineLimits(a, b), b);
      assert.deepEqual(combineLimits({ limited: false }, a), a);
      assert.deepEqual(combineLimits({ limited: false }, { limited: false }), { limited: false });
    });
  });
});
