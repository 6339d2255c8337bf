// Profiles and the admin's view of accounts: reading them, renaming, and roles. Ownership is
// by construction: per-user flows take the caller's id, never an id from the request.
import { UserRolesChangedSchema } from "../../gen/shop/users/v1/events_pb.js";
import { fieldError, notFound } from "../../platform/errors.js";
import { enqueueEvent } from "../../platform/events/index.js";
import type { Logger } from "../../platform/logger.js";
import { decodePageToken, encodePageToken, pageSize } from "../../platform/page-token.js";
import { ADMIN, checkRoleChange, normalizeRoles, sameRoles } from "./roles.js";
import type { UserRecord, UsersStore } from "./store.js";
import { normalizeEmail } from "./email.js";

export interface AccountDeps {
  readonly users: UsersStore;
  readonly clock: () => Date;
  readonly log: Logger;
}

export interface UserPage {
  readonly users: UserRecord[];
  readonly nextPageToken: string;
}

export type Accounts = ReturnType<typeof createAccounts>;

export function createAccounts({ users, clock, log }: AccountDeps) {
  /** Replaces the roles; emits UserRolesChanged when they differ. `actorId` is "" for configuration. */
  async function setRoles(actorId: string, userId: string, roles: readonly string[]): Promise<UserRecord> {
    const next = normalizeRoles(roles);
    if (actorId !== "") checkRoleChange(actorId, userId, next);
    return users.tx(async (q) => {
      const current = await users.userById(q, userId, { lock: true });
      if (!current) throw notFound("user", userId);
      if (sameRoles(current.roles, next)) return current;
      const updated = (await users.updateRoles(q, userId, next, clock()))!;
      await enqueueEvent(q, UserRolesChangedSchema, { userId, oldRoles: [...current.roles], newRoles: next, changedByUserId: actorId });
      return updated;
    });
  }

  return {
    async profile(userId: string): Promise<UserRecord> {
      const user = await users.userById(users.db, userId);
      if (!user) throw notFound("user");
      return user;
    },

    async rename(userId: string, displayName: string): Promise<UserRecord> {
      const name = displayName.trim();
      if (name === "") throw fieldError("display_name", "must not be blank");
      const user = await users.updateDisplayName(users.db, userId, name, clock());
      if (!user) throw notFound("user");
      return user;
    },

    async user(id: string): Promise<UserRecord> {
      const user = await users.userById(users.db, id);
      if (!user) throw notFound("user", id);
      return user;
    },

    async list(req: { pageSize: number; pageToken: string; emailPrefix: string; role: string }): Promise<UserPage> {
      const limit = pageSize(req.pageSize);
      const rows = await users.listUsers(users.db, {
        after: decodePageToken(req.pageToken),
        limit,
        emailPrefix: normalizeEmail(req.emailPrefix),
        role: req.role,
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { users: page, nextPageToken: rows.length > limit && last ? encodePageToken({ time: last.createdAt, id: last.id }) : "" };
    },

    setRoles,

    /** ADMIN_EMAIL: if that account exists and lacks the admin role, it gets it. */
    async grantConfiguredAdmin(email: string): Promise<void> {
      const user = await users.userByEmail(users.db, email);
      if (!user || user.roles.includes(ADMIN)) return;
      await setRoles("", user.id, [...user.roles, ADMIN]);
      log.info("granted the admin role to the ADMIN_EMAIL account", { user_id: user.id });
    },
  };
}
