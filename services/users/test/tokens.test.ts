// Refresh-token rotation and replay detection, and the signing-key timeline, in memory.
import assert from "node:assert/strict";
import { decideRefresh, hashRefreshToken, newRefreshToken, type RefreshTokenState } from "../refresh-tokens.js";
import { expiredKeysAt, planRotation, publishedKeysAt, rotationDue, signingKeyAt, VERIFY_MARGIN_MS, type KeyTimes } from "../signing-keys.js";

describe("users token rules", () => {
  describe("refresh tokens", () => {
    const now = new Date("2025-01-01T12:00:00Z");
    const live: RefreshTokenState = { userId: "u", familyId: "f", expiresAt: new Date(now.getTime() + 60_000), usedAt: null, revokedAt: null };

    it("are 256-bit random values stored only as their SHA-256", () => {
      const token = newRefreshToken();
      assert.equal(Buffer.from(token, "base64url").length, 32);
      assert.notEqual(newRefreshToken(), token);
      const hash = hashRefreshToken(token);
      assert.equal(hash.length, 32);
      assert.ok(!hash.toString("hex").includes(Buffer.from(token, "base64url").toString("hex")));
      assert.deepEqual(hashRefreshToken(token), hash);
    });
    it("rotate when unused, unrevoked and unexpired", () => {
      assert.deepEqual(decideRefresh(live, now), { kind: "rotate" });
    });
    it("treat a second use as a replay (the caller revokes the family)", () => {
      assert.deepEqual(decideRefresh({ ...live, usedAt: now }, now), { kind: "replay" });
    });
    it("reject unknown, expired and revoked tokens; revoked wins over used", () => {
      assert.deepEqual(decideRefresh(undefined, now), { kind: "reject", reason: "unknown" });
      assert.deepEqual(decideRefresh({ ...live, expiresAt: now }, now), { kind: "reject", reason: "expired" });
      assert.deepEqual(decideRefresh({ ...live, revokedAt: now }, now), { kind: "reject", reason: "revoked" });
      assert.deepEqual(decideRefresh({ ...live, usedAt: now, revokedAt: now }, now), { kind: "reject", reason: "revoked" });
    });
  });

  describe("signing-key timeline", () => {
    const H = 3_600_000;
    const policy = { rotationIntervalMs: 24 * H, publishAheadMs: H, accessTokenTtlMs: 15 * 60_000 };
    const t0 = new Date("2025-01-01T00:00:00Z");
    const at = (ms: number) => new Date(t0.getTime() + ms);

    /** Applies planRotation like the key store does, returning the new key list. */
    function rotate(keys: KeyTimes[], kid: string, now: Date): KeyTimes[] {
      const plan = planRotation(keys, now, policy);
      return [...keys.map((k) => (plan.retire.includes(k.kid) ? { ...k, retiredAt: plan.activatedAt } : k)), { kid, createdAt: now, activatedAt: plan.activatedAt, retiredAt: null }];
    }

    it("activates the first key at once", () => {
      const keys = rotate([], "k1", t0);
      assert.equal(signingKeyAt(keys, t0)?.kid, "k1");
      assert.deepEqual(publishedKeysAt(keys, t0, policy).map((k) => k.kid), ["k1"]);
    });

    it("publishes the next key at once, signs with it only after the publish-ahead delay, and keeps the old one until its tokens expired", () => {
      let keys = rotate([], "k1", t0);
      const r = at(24 * H);
      assert.ok(rotationDue(keys, r, policy));
      keys = rotate(keys, "k2", r);
      assert.ok(!rotationDue(keys, r, policy));
      assert.deepEqual(publishedKeysAt(keys, r, policy).map((k) => k.kid), ["k1", "k2"], "published immediately");
      assert.equal(signingKeyAt(keys, at(24 * H + H - 1))?.kid, "k1", "not signing before the delay");
      assert.equal(signingKeyAt(keys, at(24 * H + H))?.kid, "k2");
      const lastK1Token = 24 * H + H + policy.accessTokenTtlMs;
      assert.deepEqual(publishedKeysAt(keys, at(lastK1Token), policy).map((k) => k.kid), ["k1", "k2"], "k1 stays while its tokens live");
      assert.deepEqual(expiredKeysAt(keys, at(lastK1Token), policy), []);
      assert.deepEqual(publishedKeysAt(keys, at(lastK1Token + VERIFY_MARGIN_MS), policy).map((k) => k.kid), ["k2"]);
      assert.deepEqual(expiredKeysAt(keys, at(lastK1Token + VERIFY_MARGIN_MS), policy).map((k) => k.kid), ["k1"]);
    });

    it("retires a waiting key when another rotation overtakes it", () => {
      let keys = rotate([], "k1", t0);
      keys = rotate(keys, "k2", at(24 * H));
      keys = rotate(keys, "k3", at(24 * H + 10 * 60_000)); // forced before k2 activated
      const k2 = keys.find((k) => k.kid === "k2")!;
      assert.equal(k2.retiredAt?.getTime(), at(24 * H + 10 * 60_000 + H).getTime());
      assert.equal(signingKeyAt(keys, at(24 * H + H + 1))?.kid, "k2");
      assert.equal(signingKeyAt(keys, at(24 * H + 10 * 60_000 + H))?.kid, "k3");
    });

    it("activates at once when nothing is signing (all keys expired)", () => {
      let keys = rotate([], "k1", t0);
      keys = keys.map((k) => ({ ...k, retiredAt: at(H) }));
      keys = rotate(keys, "k2", at(2 * H));
      assert.equal(signingKeyAt(keys, at(2 * H))?.kid, "k2");
    });
  });
});
