// All SQL for accounts and address books. Methods take the Queryable to run on, so a flow can
// put several of them and its outbox event into one transaction (`tx`).
import type { Db, Queryable } from "../../platform/db/db.js";
import { alreadyExists } from "../../platform/errors.js";
import type { PageKey } from "../../platform/page-token.js";

export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A user with the password hash: only for the flows that check or change the password. */
export interface UserCredentials extends UserRecord {
  readonly passwordHash: string;
}

export interface AddressFields {
  readonly recipientName: string;
  readonly line1: string;
  readonly line2: string;
  readonly city: string;
  readonly region: string;
  readonly postalCode: string;
  readonly countryCode: string;
  readonly phone: string;
}

export interface AddressRecord {
  readonly id: string;
  readonly label: string;
  readonly address: AddressFields;
  readonly isDefault: boolean;
  readonly createdAt: Date;
}

export interface UserListFilter {
  readonly after: PageKey | undefined;
  readonly limit: number;
  /** Normalized (lower-case); "" for all. */
  readonly emailPrefix: string;
  /** "" for all. */
  readonly role: string;
}

const USER_COLUMNS = "id, email, display_name, roles, created_at, updated_at";
const ADDRESS_COLUMNS = "id, label, recipient_name, line1, line2, city, region, postal_code, country_code, phone, is_default, created_at";

type UserRow = { id: string; email: string; display_name: string; roles: string[]; created_at: Date; updated_at: Date };
type AddressRow = Record<"id" | "label" | "recipient_name" | "line1" | "line2" | "city" | "region" | "postal_code" | "country_code" | "phone", string> & {
  is_default: boolean;
  created_at: Date;
};

const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  email: r.email,
  displayName: r.display_name,
  roles: r.roles,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toAddress = (r: AddressRow): AddressRecord => ({
  id: r.id,
  label: r.label,
  address: {
    recipientName: r.recipient_name,
    line1: r.line1,
    line2: r.line2,
    city: r.city,
    region: r.region,
    postalCode: r.postal_code,
    countryCode: r.country_code,
    phone: r.phone,
  },
  isDefault: r.is_default,
  createdAt: r.created_at,
});

const emailTaken = () => alreadyExists("an account with this email already exists");

/** LIKE pattern for "starts with", with the pattern characters of the input escaped. */
const prefixPattern = (prefix: string) => prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + "%";

export type UsersStore = ReturnType<typeof createUsersStore>;

export function createUsersStore(db: Db) {
  return {
    db,
    tx: <T>(fn: (q: Queryable) => Promise<T>) => db.tx(fn),

    emailTaken,

    /** ALREADY_EXISTS when the (normalized) email is taken. */
    async insertUser(q: Queryable, u: Omit<UserCredentials, "updatedAt">): Promise<UserRecord> {
      try {
        const { rows } = await q.query<UserRow>(
          `INSERT INTO users (id, email, display_name, password_hash, roles, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5::text[], $6, $6) RETURNING ${USER_COLUMNS}`,
          [u.id, u.email, u.displayName, u.passwordHash, u.roles, u.createdAt],
        );
        return toUser(rows[0]!);
      } catch (err) {
        if ((err as { code?: unknown }).code === "23505") throw emailTaken();
        throw err;
      }
    },

    async userById(q: Queryable, id: string, opts: { lock?: boolean } = {}): Promise<UserRecord | undefined> {
      const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1${opts.lock ? " FOR UPDATE" : ""}`, [id]);
      return rows[0] && toUser(rows[0]);
    },

    async userByEmail(q: Queryable, email: string): Promise<UserRecord | undefined> {
      const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [email]);
      return rows[0] && toUser(rows[0]);
    },

    async credentials(q: Queryable, by: { email: string } | { id: string }): Promise<UserCredentials | undefined> {
      const [column, value] = "email" in by ? ["email", by.email] : ["id", by.id];
      const { rows } = await q.query<UserRow & { password_hash: string }>(
        `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE ${column} = $1`,
        [value],
      );
      const r = rows[0];
      return r && { ...toUser(r), passwordHash: r.password_hash };
    },

    /**
     * Only if the hash is still `expected`, so of two concurrent changes one fails instead of
     * both "succeeding". The profile's update time stays: the password is not profile data.
     */
    async replacePasswordHash(q: Queryable, id: string, hash: string, expected: string): Promise<boolean> {
      const { rowCount } = await q.query("UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3", [id, hash, expected]);
      return rowCount === 1;
    },

    async updateDisplayName(q: Queryable, id: string, displayName: string, now: Date): Promise<UserRecord | undefined> {
      const { rows } = await q.query<UserRow>(
        `UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [id, displayName, now],
      );
      return rows[0] && toUser(rows[0]);
    },

    async updateRoles(q: Queryable, id: string, roles: readonly string[], now: Date): Promise<UserRecord | undefined> {
      const { rows } = await q.query<UserRow>(
        `UPDATE users SET roles = $2::text[], updated_at = $3 WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [id, roles, now],
      );
      return rows[0] && toUser(rows[0]);
    },

    /** Oldest first; one row more than `limit` tells the caller there is another page. */
    async listUsers(q: Queryable, f: UserListFilter): Promise<UserRecord[]> {
      const { rows } = await q.query<UserRow>(
        `SELECT ${USER_COLUMNS} FROM users
         WHERE ($1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid))
           AND ($3 = '' OR email LIKE $4)
           AND ($5 = '' OR $5 = ANY (roles))
         ORDER BY created_at, id
         LIMIT $6`,
        [f.after?.time ?? null, f.after?.id ?? null, f.emailPrefix, prefixPattern(f.emailPrefix), f.role, f.limit + 1],
      );
      return rows.map(toUser);
    },

    /** Default first, then oldest first; one row more than `limit` means another page. */
    async listAddresses(q: Queryable, userId: string, after: PageKey | undefined, limit: number): Promise<AddressRecord[]> {
      // false < true: after a default row come the non-defaults; after a non-default, later non-defaults.
      const { rows } = await q.query<AddressRow>(
        `SELECT ${ADDRESS_COLUMNS} FROM addresses
         WHERE user_id = $1
           AND ($2::boolean IS NULL OR is_default < $2 OR (is_default = $2 AND (created_at, id) > ($3::timestamptz, $4::uuid)))
         ORDER BY is_default DESC, created_at, id
         LIMIT $5`,
        [userId, after ? (after.flag ?? false) : null, after?.time ?? null, after?.id ?? null, limit + 1],
      );
      return rows.map(toAddress);
    },

    async countAddresses(q: Queryable, userId: string): Promise<number> {
      const { rows } = await q.query<{ n: number }>("SELECT count(*)::int AS n FROM addresses WHERE user_id = $1", [userId]);
      return rows[0]?.n ?? 0;
    },

    /** Clears the default flag on the user's other addresses (before one is made default). */
    async clearDefault(q: Queryable, userId: string): Promise<void> {
      await q.query("UPDATE addresses SET is_default = false WHERE user_id = $1 AND is_default", [userId]);
    },

    async insertAddress(q: Queryable, userId: string, a: AddressRecord): Promise<AddressRecord> {
      const f = a.address;
      const { rows } = await q.query<AddressRow>(
        `INSERT INTO addresses (user_id, id, label, recipient_name, line1, line2, city, region, postal_code, country_code, phone, is_default, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING ${ADDRESS_COLUMNS}`,
        [userId, a.id, a.label, f.recipientName, f.line1, f.line2, f.city, f.region, f.postalCode, f.countryCode, f.phone, a.isDefault, a.createdAt],
      );
      return toAddress(rows[0]!);
    },

    /** Undefined when the user has no such address (someone else's included). */
    async updateAddress(
      q: Queryable,
      userId: string,
      a: Pick<AddressRecord, "id" | "label" | "address" | "isDefault">,
      now: Date,
    ): Promise<AddressRecord | undefined> {
      const f = a.address;
      const { rows } = await q.query<AddressRow>(
        `UPDATE addresses SET label = $3, recipient_name = $4, line1 = $5, line2 = $6, city = $7, region = $8,
           postal_code = $9, country_code = $10, phone = $11, is_default = $12, updated_at = $13
         WHERE user_id = $1 AND id = $2 RETURNING ${ADDRESS_COLUMNS}`,
        [userId, a.id, a.label, f.recipientName, f.line1, f.line2, f.city, f.region, f.postalCode, f.countryCode, f.phone, a.isDefault, now],
      );
      return rows[0] && toAddress(rows[0]);
    },

    async addressExists(q: Queryable, userId: string, id: string, opts: { lock?: boolean } = {}): Promise<boolean> {
      const { rowCount } = await q.query(`SELECT 1 FROM addresses WHERE user_id = $1 AND id = $2${opts.lock ? " FOR UPDATE" : ""}`, [userId, id]);
      return rowCount === 1;
    },

    async deleteAddress(q: Queryable, userId: string, id: string): Promise<boolean> {
      const { rowCount } = await q.query("DELETE FROM addresses WHERE user_id = $1 AND id = $2", [userId, id]);
      return rowCount === 1;
    },
  };
}
