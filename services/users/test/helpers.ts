// Small named fixtures for the users service tests: the service on a real port against its own
// real PostgreSQL database, a clock the test can move, clients acting as a given user, and a
// verifier built exactly as every other service builds it.
import { randomBytes } from "node:crypto";
import { UsersService } from "../../../gen/shop/users/v1/users_pb.js";
import { createJwtVerifier, type JwtVerifier } from "../../../platform/auth/jwt-verifier.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { createClient, type CallOptions, type ServiceClient } from "../../../platform/grpc/index.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { createUsersModule } from "../module.js";

export { as, rejectionOf } from "../../../platform/testing/calls.js";
import { testClock, type TestClock } from "../../../platform/testing/clock.js";
export { testClock, type TestClock } from "../../../platform/testing/clock.js";
export { outboxEvents } from "../../../platform/testing/outbox.js";

export type UsersClient = ServiceClient<typeof UsersService>;

export interface RunningUsers {
  readonly client: UsersClient;
  readonly clock: TestClock;
  /** The service's schema, for looking at what it stored. */
  readonly db: Db;
  readonly tdb: TestDatabase;
  readonly service: RunningService;
  stop(): Promise<void>;
}

export const TEST_ENV = {
  GRPC_HOST: "127.0.0.1",
  GRPC_PORT: "0",
  LOG_LEVEL: "error",
  AUTH_ISSUER: "shop-users-test",
  AUTH_AUDIENCE: "shop-test",
};

/** The users service on a fresh database; `env` adds or overrides settings. */
export async function startUsers(env: Record<string, string> = {}, clock = testClock()): Promise<RunningUsers> {
  const tdb = await createTestDatabase("users");
  try {
    const service = await startService(createUsersModule({ clock: clock.now }), { ...TEST_ENV, DATABASE_URL: tdb.url, ...env });
    const client = createClient(UsersService, { name: "users", address: `127.0.0.1:${service.port}` });
    const db = createDb({ url: tdb.url, schema: "users", applicationName: "users-test" });
    return {
      client,
      clock,
      db,
      tdb,
      service,
      async stop() {
        client.close();
        await service.stop();
        await db.close();
        await tdb.drop();
      },
    };
  } catch (err) {
    await tdb.drop();
    throw err;
  }
}

/** Call options as a client behind the gateway at `ip`. */
export const from = (ip: string, token?: string): CallOptions => ({ metadata: { "x-client-ip": ip, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

let counter = 0;

/** An email no other test uses. */
export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${Date.now().toString(36)}-${counter++}-${randomBytes(2).toString("hex")}@example.test`;
}

export const PASSWORD = "correct horse battery staple";

export async function registerUser(client: UsersClient, opts: { email?: string; password?: string; displayName?: string } = {}) {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? PASSWORD;
  const res = await client.register({ email, password, displayName: opts.displayName ?? "Test User" });
  return { email, password, user: res.user!, tokens: res.tokens!, accessToken: res.tokens!.accessToken, refreshToken: res.tokens!.refreshToken };
}

/** Verifies tokens the way the gateway and every service do: against GetJwks. */
export function jwksVerifier(client: UsersClient): JwtVerifier {
  return createJwtVerifier({
    issuer: TEST_ENV.AUTH_ISSUER,
    audience: TEST_ENV.AUTH_AUDIENCE,
    minRefreshIntervalMs: 0,
    fetchJwks: async () => (await client.getJwks({})).keys.map((k) => ({ kty: k.kty, crv: k.crv, x: k.x, y: k.y, kid: k.kid, alg: k.alg, use: k.use })),
  });
}

/** The kid in a JWT's header. */
export function kidOf(jwt: string): string {
  const header = JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString("utf8")) as { kid?: string };
  return header.kid ?? "";
}
