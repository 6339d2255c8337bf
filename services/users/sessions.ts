// Signing in and out: register, login, refresh, logout and password change. These flows own
// the order of the security checks; SQL is in the stores, rules in the small domain files.
//
// Argon2 runs outside transactions: it takes tens of milliseconds, and in the single-process
// mode a transaction holds the one embedded connection every service shares.
import { randomUUID } from "node:crypto";
import { PasswordChangedSchema, UserRegisteredSchema } from "../../gen/shop/users/v1/events_pb.js";
import type { Queryable } from "../../platform/db/db.js";
import { failedPrecondition, fieldError, permissionDenied, resourceExhausted, unauthenticated } from "../../platform/errors.js";
import { enqueueEvent } from "../../platform/events/index.js";
import type { Logger } from "../../platform/logger.js";
import { signAccessToken, type AccessTokenSettings } from "./access-tokens.js";
import { normalizeEmail } from "./email.js";
import type { KeyStore } from "./key-store.js";
import { combineLimits, limitStatus, retryHint, type LoginLimitPolicy } from "./login-limits.js";
import type { PasswordHasher } from "./password-hasher.js";
import { passwordProblem } from "./password-policy.js";
import { decideRefresh, hashRefreshToken, newRefreshToken } from "./refresh-tokens.js";
import { rolesForNewAccount } from "./roles.js";
import type { SessionStore } from "./session-store.js";
import type { UserRecord, UsersStore } from "./store.js";

export interface SessionSettings extends AccessTokenSettings {
  readonly refreshTtlMs: number;
  /** Normalized; undefined when unset. */
  readonly adminEmail: string | undefined;
  readonly accountLimit: LoginLimitPolicy;
  readonly addressLimit: LoginLimitPolicy;
}

export interface SessionDeps {
  readonly users: UsersStore;
  readonly sessions: SessionStore;
  readonly keys: KeyStore;
  readonly hasher: PasswordHasher;
  readonly clock: () => Date;
  readonly log: Logger;
  readonly settings: SessionSettings;
}

export interface Tokens {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: Date;
  readonly refreshToken: string;
  readonly refreshTokenExpiresAt: Date;
}

export interface SignedIn {
  readonly user: UserRecord;
  readonly tokens: Tokens;
}

/** Wrong email and wrong password look the same. */
const badCredentials = () => unauthenticated("invalid email or password");
const badRefreshToken = () => unauthenticated("refresh token is not valid; sign in again");

export type Sessions = ReturnType<typeof createSessions>;

export function createSessions(deps: SessionDeps) {
  const { users, sessions, keys, hasher, clock, log, settings } = deps;

  /** A new refresh token in `familyId` and an access token, inside the caller's transaction. */
  async function issue(q: Queryable, user: Pick<UserRecord, "id" | "roles" | "displayName">, familyId: string, now: Date): Promise<Tokens> {
    const refreshToken = newRefreshToken();
    const refreshTokenExpiresAt = new Date(now.getTime() + settings.refreshTtlMs);
    await sessions.insertRefreshToken(q, { hash: hashRefreshToken(refreshToken), userId: user.id, familyId, createdAt: now, expiresAt: refreshTokenExpiresAt });
    const access = await signAccessToken(keys.signingKey(), { userId: user.id, roles: user.roles, name: user.displayName }, settings, now);
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, refreshTokenExpiresAt };
  }

  /** RESOURCE_EXHAUSTED while the account (or the client address) has too many recent failures. */
  async function checkLimits(account: string, clientAddress: string | undefined, now: Date): Promise<void> {
    const { accountLimit, addressLimit } = settings;
    const since = new Date(now.getTime() - Math.max(accountLimit.windowMs, addressLimit.windowMs));
    const recent = await sessions.recentFailures(account, clientAddress, since, { account: accountLimit.maxFailures, address: addressLimit.maxFailures });
    const status = combineLimits(limitStatus(recent.account, accountLimit, now), limitStatus(recent.address, addressLimit, now));
    // The same answer whether or not the account exists, and whichever limit was hit.
    if (status.limited) throw resourceExhausted(`too many failed sign-in attempts; try again in ${retryHint(status.retryAfterMs)}`);
  }

  return {
    async register(input: { email: string; password: string; displayName: string }): Promise<SignedIn> {
      const email = normalizeEmail(input.email);
      const displayName = input.displayName.trim();
      if (displayName === "") throw fieldError("display_name", "must not be blank");
      const problem = passwordProblem(input.password, email);
      if (problem) throw fieldError("password", problem);
      if (await users.userByEmail(users.db, email)) throw users.emailTaken(); // spares the hash; the insert still decides
      const passwordHash = await hasher.hash(input.password);
      const now = clock();
      return users.tx(async (q) => {
        const user = await users.insertUser(q, { id: randomUUID(), email, displayName, passwordHash, roles: rolesForNewAccount(email, settings.adminEmail), createdAt: now });
        await enqueueEvent(q, UserRegisteredSchema, { userId: user.id, email: user.email, displayName: user.displayName });
        return { user, tokens: await issue(q, user, randomUUID(), now) };
      });
    },

    async login(input: { email: string; password: string }, clientAddress: string | undefined): Promise<SignedIn> {
      const email = normalizeEmail(input.email);
      await checkLimits(email, clientAddress, clock());
      const found = await users.credentials(users.db, { email });
      // An unknown email costs a hash check too, so timing does not reveal which accounts exist.
      const ok = found ? await hasher.verify(found.passwordHash, input.password) : await hasher.verifyNobody(input.password);
      if (!found || !ok) {
        await sessions.recordFailure(email, clientAddress, clock());
        throw badCredentials();
      }
      const { passwordHash, ...user } = found;
      if (hasher.needsRehash(passwordHash)) {
        await users.replacePasswordHash(users.db, user.id, await hasher.hash(input.password), passwordHash);
      }
      const now = clock();
      return users.tx(async (q) => {
        await sessions.clearAccountFailures(q, email);
        return { user, tokens: await issue(q, user, randomUUID(), now) };
      });
    },

    async refresh(refreshToken: string): Promise<Tokens> {
      const hash = hashRefreshToken(refreshToken);
      const now = clock();
      // The transaction returns its verdict instead of throwing, so a family revocation commits.
      const outcome = await users.tx(async (q): Promise<{ tokens?: Tokens; replayOf?: { userId: string; familyId: string } }> => {
        const state = await sessions.lockRefreshToken(q, hash);
        const decision = decideRefresh(state, now);
        if (decision.kind === "replay") {
          await sessions.revokeFamily(q, state!.familyId, now);
          return { replayOf: { userId: state!.userId, familyId: state!.familyId } };
        }
        if (decision.kind === "reject") return {};
        const user = await users.userById(q, state!.userId);
        if (!user) return {};
        await sessions.markUsed(q, hash, now);
        return { tokens: await issue(q, user, state!.familyId, now) };
      });
      if (outcome.replayOf) log.warn("spent refresh token presented again; its family is revoked", { user_id: outcome.replayOf.userId, family_id: outcome.replayOf.familyId });
      if (!outcome.tokens) throw badRefreshToken();
      return outcome.tokens;
    },

    /** Revokes the token's family if it is the caller's; unknown or foreign tokens change nothing. */
    async logout(userId: string, refreshToken: string): Promise<void> {
      await users.tx((q) => sessions.revokeFamilyOf(q, hashRefreshToken(refreshToken), userId, clock()));
    },

    async changePassword(userId: string, input: { currentPassword: string; newPassword: string }, clientAddress: string | undefined): Promise<void> {
      const found = await users.credentials(users.db, { id: userId });
      if (!found) throw badCredentials();
      const problem = passwordProblem(input.newPassword, found.email);
      if (problem) throw fieldError("new_password", problem);
      if (input.newPassword === input.currentPassword) throw fieldError("new_password", "must differ from the current password");
      // Guessing the current password with a stolen access token is limited like guessing at login.
      await checkLimits(found.email, clientAddress, clock());
      if (!(await hasher.verify(found.passwordHash, input.currentPassword))) {
        await sessions.recordFailure(found.email, clientAddress, clock());
        throw permissionDenied("the current password is not correct");
      }
      const newHash = await hasher.hash(input.newPassword);
      const now = clock();
      await users.tx(async (q) => {
        if (!(await users.replacePasswordHash(q, userId, newHash, found.passwordHash))) {
          throw failedPrecondition("the password was changed meanwhile; try again");
        }
        await sessions.revokeAllOfUser(q, userId, now);
        await sessions.clearAccountFailures(q, found.email);
        await enqueueEvent(q, PasswordChangedSchema, { userId, email: found.email });
      });
    },
  };
}
