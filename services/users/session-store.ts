// All SQL for refresh tokens and failed sign-ins. Times are the service clock's, passed in.
import type { Db, Queryable } from "../../platform/db/db.js";
import type { RefreshTokenState } from "./refresh-tokens.js";

export interface NewRefreshToken {
  readonly hash: Buffer;
  readonly userId: string;
  readonly familyId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

type TokenRow = { user_id: string; family_id: string; expires_at: Date; used_at: Date | null; revoked_at: Date | null };

export type SessionStore = ReturnType<typeof createSessionStore>;

export function createSessionStore(db: Db) {
  return {
    async insertRefreshToken(q: Queryable, t: NewRefreshToken): Promise<void> {
      await q.query(
        "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        [t.hash, t.userId, t.familyId, t.createdAt, t.expiresAt],
      );
    },

    /** The token's state, locked until the transaction ends (two concurrent uses serialize here). */
    async lockRefreshToken(q: Queryable, hash: Buffer): Promise<RefreshTokenState | undefined> {
      const { rows } = await q.query<TokenRow>(
        "SELECT user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        [hash],
      );
      const r = rows[0];
      return r && { userId: r.user_id, familyId: r.family_id, expiresAt: r.expires_at, usedAt: r.used_at, revokedAt: r.revoked_at };
    },

    async markUsed(q: Queryable, hash: Buffer, now: Date): Promise<void> {
      await q.query("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1", [hash, now]);
    },

    async revokeFamily(q: Queryable, familyId: string, now: Date): Promise<void> {
      await q.query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL", [familyId, now]);
    },

    /** Logout: the family of `hash`, only if it belongs to `userId`. */
    async revokeFamilyOf(q: Queryable, hash: Buffer, userId: string, now: Date): Promise<void> {
      await q.query(
        `UPDATE refresh_tokens SET revoked_at = $3
         WHERE revoked_at IS NULL
           AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2)`,
        [hash, userId, now],
      );
    },

    async revokeAllOfUser(q: Queryable, userId: string, now: Date): Promise<void> {
      await q.query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", [userId, now]);
    },

    /** Up to `max` failures since `since`, newest first, for the account and for the address. */
    async recentFailures(account: string, address: string | undefined, since: Date, max: { account: number; address: number }) {
      const { rows } = await db.query<{ kind: string; failed_at: Date }>(
        `(SELECT 'account' AS kind, failed_at FROM login_failures
           WHERE account_key = $1 AND NOT account_cleared AND failed_at > $3 ORDER BY failed_at DESC LIMIT $4)
         UNION ALL
         (SELECT 'address' AS kind, failed_at FROM login_failures
           WHERE $2::text IS NOT NULL AND client_address = $2 AND failed_at > $3 ORDER BY failed_at DESC LIMIT $5)`,
        [account, address ?? null, since, max.account, max.address],
      );
      return {
        account: rows.filter((r) => r.kind === "account").map((r) => r.failed_at),
        address: rows.filter((r) => r.kind === "address").map((r) => r.failed_at),
      };
    },

    async recordFailure(account: string, address: string | undefined, now: Date): Promise<void> {
      await db.query("INSERT INTO login_failures (account_key, client_address, failed_at) VALUES ($1, $2, $3)", [account, address ?? null, now]);
    },

    async clearAccountFailures(q: Queryable, account: string): Promise<void> {
      await q.query("UPDATE login_failures SET account_cleared = true WHERE account_key = $1 AND NOT account_cleared", [account]);
    },

    /** Housekeeping: failures older than the window, refresh tokens past expiry. */
    async prune(failuresBefore: Date, tokensExpiredBefore: Date): Promise<void> {
      await db.query("DELETE FROM login_failures WHERE failed_at < $1", [failuresBefore]);
      await db.query("DELETE FROM refresh_tokens WHERE expires_at < $1", [tokensExpiredBefore]);
    },
  };
}
