// The ES256 keys that sign access tokens, kept in the users database so every replica signs
// and verifies with the same set, and rotated without a restart (timeline rules in
// signing-keys.ts).
//
// Each replica holds the keys in memory and re-reads the table every KEY_RELOAD_INTERVAL
// (`maintain`); whichever replica finds a rotation due creates the next key under an advisory
// lock, and the others see it on their next reload, well before it starts signing because the
// publish-ahead delay is longer than the reload interval.
//
// Private keys are stored as JWKs in plain columns: encryption at rest is the database's job
// (or a KMS later); they are never logged and never leave through the API.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";
import type { Db, Queryable } from "../../platform/db/db.js";
import { unavailable } from "../../platform/errors.js";
import { ACCESS_TOKEN_ALG } from "../../platform/auth/jwt-verifier.js";
import { expiredKeysAt, planRotation, publishedKeysAt, rotationDue, signingKeyAt, VERIFY_MARGIN_MS, type KeyPolicy, type KeyTimes } from "./signing-keys.js";

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

/** A public key as the JWKS lists it (RFC 7517 member names). */
export interface PublicJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: string;
}

export interface KeyStore {
  /** Creates the first key if the table has none, and loads the keys. */
  init(): Promise<void>;
  /** Re-reads the table (another replica may have rotated or pruned). */
  reload(): Promise<void>;
  /** The periodic job: reload, rotate if due, delete keys no token can need any more. */
  maintain(): Promise<void>;
  /** Creates the next key now, whatever the age of the current one (operators, tests); returns its kid. */
  rotate(): Promise<string>;
  /** The key to sign with now; UNAVAILABLE if there is none (init not run). */
  signingKey(): SigningKey;
  /** Public halves of every key that may have signed a token still valid, or will sign soon. */
  publicJwks(): PublicJwk[];
}

export interface KeyStoreOptions extends KeyPolicy {
  readonly db: Db;
  readonly clock: () => Date;
}

interface LoadedKey extends KeyTimes {
  readonly publicJwk: PublicJwk;
  readonly privateKey: CryptoKey;
}

interface KeyRow {
  kid: string;
  private_jwk: JWK;
  public_jwk: PublicJwk;
  created_at: Date;
  activated_at: Date;
  retired_at: Date | null;
}

// Advisory locks are database-wide; the schema keeps the embedded mode's services (one
// database, a schema each) and parallel test schemas apart.
const LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('signing-keys:' || current_schema()))";

export function createKeyStore(opts: KeyStoreOptions): KeyStore {
  const { db, clock } = opts;
  const policy: KeyPolicy = { rotationIntervalMs: opts.rotationIntervalMs, publishAheadMs: opts.publishAheadMs, accessTokenTtlMs: opts.accessTokenTtlMs };
  let keys: LoadedKey[] = [];
  // Imported once per kid: importing is the only costly step of a reload.
  const imported = new Map<string, CryptoKey>();

  async function selectKeys(q: Queryable): Promise<KeyRow[]> {
    const { rows } = await q.query<KeyRow & Record<string, unknown>>(
      "SELECT kid, private_jwk, public_jwk, created_at, activated_at, retired_at FROM signing_keys ORDER BY created_at",
    );
    return rows;
  }

  const times = (r: KeyRow): KeyTimes => ({ kid: r.kid, createdAt: r.created_at, activatedAt: r.activated_at, retiredAt: r.retired_at });

  async function load(rows: KeyRow[]): Promise<void> {
    const next: LoadedKey[] = [];
    for (const r of rows) {
      let privateKey = imported.get(r.kid);
      if (!privateKey) {
        privateKey = (await importJWK(r.private_jwk, ACCESS_TOKEN_ALG, { extractable: false })) as CryptoKey;
        imported.set(r.kid, privateKey);
      }
      next.push({ ...times(r), publicJwk: r.public_jwk, privateKey });
    }
    for (const kid of imported.keys()) if (!rows.some((r) => r.kid === kid)) imported.delete(kid);
    keys = next;
  }

  /** Creates a key under the lock, if `force` or a rotation is still due once the lock is held. */
  async function rotateLocked(force: boolean): Promise<string | undefined> {
    return db.tx(async (q) => {
      await q.query(LOCK_SQL);
      const rows = await selectKeys(q);
      const now = clock();
      if (!force && !rotationDue(rows.map(times), now, policy)) return undefined;
      const plan = planRotation(rows.map(times), now, policy);
      const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
      const pub = await exportJWK(publicKey);
      const kid = await calculateJwkThumbprint(pub);
      const publicJwk: PublicJwk = { kty: pub.kty!, crv: pub.crv!, x: pub.x!, y: pub.y!, kid, alg: ACCESS_TOKEN_ALG, use: "sig" };
      if (plan.retire.length > 0) {
        await q.query("UPDATE signing_keys SET retired_at = $1 WHERE kid = ANY($2::text[])", [plan.activatedAt, plan.retire]);
      }
      await q.query(
        "INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at, activated_at) VALUES ($1, $2::jsonb, $3::jsonb, $4, $5)",
        [kid, JSON.stringify({ ...(await exportJWK(privateKey)), kid }), JSON.stringify(publicJwk), now, plan.activatedAt],
      );
      return kid;
    });
  }

  const reload = async () => load(await selectKeys(db));

  return {
    async init() {
      await reload();
      // No key yet (first start), or the service was down past a rotation. Another replica
      // starting at the same time may win the lock; then this is a no-op.
      if (rotationDue(keys, clock(), policy) && (await rotateLocked(false))) await reload();
    },

    reload,

    async maintain() {
      await reload();
      const now = clock();
      let changed = false;
      if (rotationDue(keys, now, policy)) changed = (await rotateLocked(false)) !== undefined;
      const expired = expiredKeysAt(keys, now, policy).map((k) => k.kid);
      if (expired.length > 0) {
        // Re-checked in SQL: the row may have changed since it was read.
        await db.query("DELETE FROM signing_keys WHERE kid = ANY($1::text[]) AND retired_at < $2", [
          expired,
          new Date(now.getTime() - policy.accessTokenTtlMs - VERIFY_MARGIN_MS),
        ]);
        changed = true;
      }
      if (changed) await reload();
    },

    async rotate() {
      const kid = (await rotateLocked(true))!;
      await reload();
      return kid;
    },

    signingKey() {
      const key = signingKeyAt(keys, clock());
      if (!key) throw unavailable("no signing key is active");
      return { kid: key.kid, privateKey: key.privateKey };
    },

    publicJwks: () => publishedKeysAt(keys, clock(), policy).map((k) => k.publicJwk),
  };
}
