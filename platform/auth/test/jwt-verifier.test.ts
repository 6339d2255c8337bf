import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK } from "jose";
import { Code, type ShopError } from "../../errors.js";
import { createJwtVerifier } from "../jwt-verifier.js";

const issuer = "https://shop.test/users";
const audience = "shop";

interface SigningKey {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
  jwk: JWK;
}

async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

function token(key: SigningKey, claims: { sub?: string; roles?: string[]; iss?: string; aud?: string; exp?: string | number } = {}) {
  return new SignJWT({ roles: claims.roles ?? ["customer"] })
    .setProtectedHeader({ alg: "ES256", kid: key.kid })
    .setSubject(claims.sub ?? "user-1")
    .setIssuer(claims.iss ?? issuer)
    .setAudience(claims.aud ?? audience)
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? "5m")
    .sign(key.privateKey);
}

const isUnauthenticated = (message: RegExp) => (err: ShopError) => err.code === Code.UNAUTHENTICATED && message.test(err.message);

describe("jwt verifier", () => {
  let k1: SigningKey;
  let k2: SigningKey;
  let published: JWK[];
  let fetches: number;
  let clock: number;
  /** The users service is down: every JWKS fetch fails. */
  let usersDown: boolean;
  const verifier = () =>
    createJwtVerifier({
      issuer,
      audience,
      minRefreshIntervalMs: 5_000,
      now: () => clock,
      fetchJwks: async () => {
        fetches++;
        if (usersDown) throw new Error("users down");
        return published;
      },
    });

  beforeEach(async () => {
    k1 ??= await newKey("k1");
    k2 ??= await newKey("k2");
    published = [k1.jwk];
    fetches = 0;
    usersDown = false;
    clock = 1_000_000;
  });

  it("accepts a valid token and returns subject and roles", async () => {
    const v = await verifier().verify(await token(k1, { sub: "u-42", roles: ["customer", "admin"] }));
    assert.equal(v.subject, "u-42");
    assert.deepEqual(v.roles, ["customer", "admin"]);
  });

  it("rejects alg=none, a symmetric algorithm and a tampered signature", async () => {
    const v = verifier();
    const none = new UnsecuredJWT({ roles: ["admin"] }).setSubject("u").setIssuer(issuer).setAudience(audience).setExpirationTime("5m").encode();
    await assert.rejects(v.verify(none), isUnauthenticated(/invalid token/));
    const hs = await new SignJWT({ roles: ["admin"] })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setSubject("u")
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(JSON.stringify(k1.jwk)));
    await assert.rejects(v.verify(hs), isUnauthenticated(/invalid token/));
    const good = await token(k1);
    const [h, , signature] = good.split(".");
    const forgedPayload = Buffer.from(JSON.stringify({ sub: "u", roles: ["admin"], iss: issuer, aud: audience, exp: 9e9, iat: 1 })).toString("base64url");
    await assert.rejects(v.verify(`${h}.${forgedPayload}.${signature}`), isUnauthenticated(/invalid token/));
    await assert.rejects(v.verify("not-a-jwt"), isUnauthenticated(/invalid token/));
  });

  it("rejects the wrong audience, the wrong issuer and expired tokens", async () => {
    const v = verifier();
    await assert.rejects(v.verify(await token(k1, { aud: "someone-else" })), isUnauthenticated(/invalid token/));
    await assert.rejects(v.verify(await token(k1, { iss: "https://evil.test" })), isUnauthenticated(/invalid token/));
    await assert.rejects(v.verify(await token(k1, { exp: Math.floor(Date.now() / 1000) - 60 })), isUnauthenticated(/token expired/));
  });

  it("picks up a rotated key on first sight of its kid, and rate-limits refreshes for unknown kids", async () => {
    const v = verifier();
    await v.verify(await token(k1));
    assert.equal(fetches, 1);
    published = [k1.jwk, k2.jwk]; // the users service rotated
    clock += 5_000;
    await v.verify(await token(k2));
    assert.equal(fetches, 2);
    const stranger = await newKey("k-unknown");
    for (let i = 0; i < 20; i++) await assert.rejects(v.verify(await token(stranger)), isUnauthenticated(/invalid token/));
    assert.equal(fetches, 2, "forged kids must not cause a JWKS fetch each");
  });

  it("hands out its public keys for republishing, fetched again only once they are older than asked", async () => {
    const v = verifier();
    assert.deepEqual(await v.publicKeys(60_000), [k1.jwk]);
    await v.verify(await token(k1)); // the verifier and the republished keys share one cache
    clock += 59_000;
    assert.deepEqual(await v.publicKeys(60_000), [k1.jwk]);
    assert.equal(fetches, 1);
    published = [k1.jwk, k2.jwk];
    clock += 2_000;
    assert.deepEqual((await v.publicKeys(60_000)).map((k) => k.kid), ["k1", "k2"]);
    assert.equal(fetches, 2);

    usersDown = true;
    clock += 61_000;
    assert.deepEqual((await v.publicKeys(60_000)).map((k) => k.kid), ["k1", "k2"], "stale keys beat no keys");
    clock += 1_000;
    await v.publicKeys(60_000);
    assert.equal(fetches, 3, "while the users service is down, asked again at most every minRefreshIntervalMs");
  });

  it("has no public keys to hand out, UNAVAILABLE, when none could ever be fetched", async () => {
    const v = createJwtVerifier({ issuer, audience, fetchJwks: () => Promise.reject(new Error("users down")) });
    await assert.rejects(v.publicKeys(60_000), (err: ShopError) => err.code === Code.UNAVAILABLE);
  });

  it("reports UNAVAILABLE, not UNAUTHENTICATED, when no keys can be fetched at all", async () => {
    const v = createJwtVerifier({ issuer, audience, fetchJwks: () => Promise.reject(new Error("users down")) });
    await assert.rejects(v.verify(await token(k1)), (err: ShopError) => err.code === Code.UNAVAILABLE);
  });
});
