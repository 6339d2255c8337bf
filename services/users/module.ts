// The users service as the platform runs it: configuration, wiring, periodic jobs, and the
// authenticate hook that verifies this service's own tokens locally (no call to itself).
import { UsersService } from "../../gen/shop/users/v1/users_pb.js";
import { bearerAuthenticate } from "../../platform/auth/bearer-authenticate.js";
import { createJwtVerifier } from "../../platform/auth/jwt-verifier.js";
import { ConfigError } from "../../platform/config.js";
import { sourcePath } from "../../platform/paths.js";
import type { ServiceModule } from "../../platform/service.js";
import { createAccounts } from "./accounts.js";
import { createAddressBook } from "./address-book.js";
import { usersConfig } from "./config.js";
import { normalizeEmail } from "./email.js";
import { createKeyStore } from "./key-store.js";
import { createPasswordHasher } from "./password-hasher.js";
import { startPeriodic } from "../../platform/periodic.js";
import { createUsersService } from "./service.js";
import { createSessionStore } from "./session-store.js";
import { createSessions } from "./sessions.js";
import { createUsersStore } from "./store.js";

export interface UsersModuleOptions {
  /** The service's notion of now: token times, key rotation, limits. Tests move it. */
  readonly clock?: () => Date;
}

export function createUsersModule(opts: UsersModuleOptions = {}): ServiceModule<typeof usersConfig> {
  const clock = opts.clock ?? (() => new Date());
  return {
    name: "users",
    defaultPort: 50051,
    config: usersConfig,
    migrations: sourcePath("services", "users", "migrations"),
    async setup(parts) {
      const { config, db, log, server } = parts;
      // A replica that had not reloaded yet would otherwise see tokens signed with a key it has never heard of.
      if (config.KEY_PUBLISH_AHEAD <= config.KEY_RELOAD_INTERVAL) {
        throw new ConfigError(["KEY_PUBLISH_AHEAD must be longer than KEY_RELOAD_INTERVAL"]);
      }
      if (config.KEY_ROTATION_INTERVAL <= config.KEY_PUBLISH_AHEAD) {
        throw new ConfigError(["KEY_ROTATION_INTERVAL must be longer than KEY_PUBLISH_AHEAD"]);
      }
      const keys = createKeyStore({
        db,
        clock,
        rotationIntervalMs: config.KEY_ROTATION_INTERVAL,
        publishAheadMs: config.KEY_PUBLISH_AHEAD,
        accessTokenTtlMs: config.ACCESS_TOKEN_TTL,
      });
      await keys.init();

      const users = createUsersStore(db);
      const sessionStore = createSessionStore(db);
      const adminEmail = config.ADMIN_EMAIL ? normalizeEmail(config.ADMIN_EMAIL) : undefined;
      const window = config.LOGIN_FAILURE_WINDOW;
      const sessions = createSessions({
        users,
        sessions: sessionStore,
        keys,
        hasher: createPasswordHasher(),
        clock,
        log,
        settings: {
          issuer: config.AUTH_ISSUER,
          audience: config.AUTH_AUDIENCE,
          ttlMs: config.ACCESS_TOKEN_TTL,
          refreshTtlMs: config.REFRESH_TOKEN_TTL,
          adminEmail,
          accountLimit: { maxFailures: config.LOGIN_MAX_FAILURES_PER_ACCOUNT, windowMs: window },
          addressLimit: { maxFailures: config.LOGIN_MAX_FAILURES_PER_ADDRESS, windowMs: window },
        },
      });
      const accounts = createAccounts({ users, clock, log });
      if (adminEmail) await accounts.grantConfiguredAdmin(adminEmail);
      server.add(UsersService, createUsersService({ sessions, accounts, addressBook: createAddressBook({ users, clock }), keys }));

      const keyJob = startPeriodic({ name: "signing keys", intervalMs: config.KEY_RELOAD_INTERVAL, run: () => keys.maintain(), log });
      const pruneJob = startPeriodic({
        name: "prune sessions",
        intervalMs: Math.max(window, 60_000),
        run: () => {
          const now = clock().getTime();
          return sessionStore.prune(new Date(now - window), new Date(now));
        },
        log,
      });
      parts.onStop(() => keyJob.stop());
      parts.onStop(() => pruneJob.stop());

      // The JWKS comes from memory: a token with an unknown kid costs a copy of a few keys, not
      // a query, so the verifier may look as often as it likes (minRefreshIntervalMs 0).
      const verifier = createJwtVerifier({
        issuer: config.AUTH_ISSUER,
        audience: config.AUTH_AUDIENCE,
        fetchJwks: async () => keys.publicJwks(),
        minRefreshIntervalMs: 0,
      });
      return { authenticate: bearerAuthenticate(verifier) };
    },
  };
}

export const usersModule = createUsersModule();
