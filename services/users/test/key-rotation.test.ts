// Key rotation without a restart, as two replicas see it: the service under test, and a second
// key store on the same table (another replica) that forces a rotation with the same clock.
import assert from "node:assert/strict";
import { createKeyStore } from "../key-store.js";
import { VERIFY_MARGIN_MS } from "../signing-keys.js";
import { as, jwksVerifier, kidOf, PASSWORD, registerUser, startUsers, type RunningUsers } from "./helpers.js";
import { waitFor } from "../../../platform/testing/wait-for.js";

const MINUTE = 60_000;

describe("users service: signing key rotation (real PostgreSQL)", () => {
  let svc: RunningUsers;

  before(async () => {
    svc = await startUsers({ KEY_PUBLISH_AHEAD: "1m", KEY_RELOAD_INTERVAL: "50ms", ACCESS_TOKEN_TTL: "15m" });
  });
  after(async () => {
    await svc.stop();
  });

  const jwksKids = async () => (await svc.client.getJwks({})).keys.map((k) => k.kid).sort();

  it("creates the first key on first start and publishes only its public half", async () => {
    const { keys } = await svc.client.getJwks({});
    assert.equal(keys.length, 1);
    const [key] = keys;
    assert.deepEqual({ kty: key!.kty, crv: key!.crv, alg: key!.alg, use: key!.use }, { kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    assert.ok(key!.x && key!.y && key!.kid);
    assert.ok(!("d" in key!), "no private member");
    const { rows } = await svc.db.query<{ n: number }>("SELECT count(*)::int AS n FROM signing_keys");
    assert.equal(rows[0]?.n, 1);
  });

  it("publishes a new key at once, signs with it after the publish-ahead delay, and keeps the old key until its tokens expired", async () => {
    const { email, accessToken: oldToken } = await registerUser(svc.client);
    const oldKid = kidOf(oldToken);
    const replica = createKeyStore({ db: svc.db, clock: svc.clock.now, rotationIntervalMs: 24 * 60 * MINUTE, publishAheadMs: MINUTE, accessTokenTtlMs: 15 * MINUTE });
    const newKid = await replica.rotate();
    assert.notEqual(newKid, oldKid);

    // The service reloads the table periodically: the new key appears in its JWKS without a restart.
    await waitFor("the new key in the JWKS", async () => (await jwksKids()).includes(newKid) || undefined);
    assert.deepEqual(await jwksKids(), [oldKid, newKid].sort());
    // Published, but not yet signing.
    const early = (await svc.client.login({ email, password: PASSWORD })).tokens!.accessToken;
    assert.equal(kidOf(early), oldKid);

    svc.clock.advance(MINUTE);
    const fresh = (await svc.client.login({ email, password: PASSWORD })).tokens!.accessToken;
    assert.equal(kidOf(fresh), newKid);

    // Both verify, with a verifier built as every other service builds it, and at the service itself.
    const verifier = jwksVerifier(svc.client);
    await verifier.verify(oldToken);
    await verifier.verify(fresh);
    await svc.client.getProfile({}, as(oldToken));
    await svc.client.getProfile({}, as(fresh));
    assert.deepEqual(await jwksKids(), [oldKid, newKid].sort());

    // Once every token the old key signed has expired, it leaves the JWKS and then the table.
    svc.clock.advance(15 * MINUTE + VERIFY_MARGIN_MS);
    assert.deepEqual(await jwksKids(), [newKid]);
    await waitFor("the old key deleted", async () => {
      const { rows } = await svc.db.query<{ kid: string }>("SELECT kid FROM signing_keys");
      return (rows.length === 1 && rows[0]?.kid === newKid) || undefined;
    });
  });

  it("rotates by itself once the current key is older than KEY_ROTATION_INTERVAL", async () => {
    const before = await jwksKids();
    svc.clock.advance(24 * 60 * MINUTE);
    const after = await waitFor("an automatic rotation", async () => {
      const kids = await jwksKids();
      return kids.length === before.length + 1 ? kids : undefined;
    });
    assert.ok(before.every((k) => after.includes(k)));
    // Exactly one new key, however many ticks ran meanwhile: the rotation re-checks under the lock.
    const { rows } = await svc.db.query<{ n: number }>("SELECT count(*)::int AS n FROM signing_keys");
    assert.equal(rows[0]?.n, before.length + 1);
  });
});
