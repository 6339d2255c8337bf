// Small named fixtures for the inventory service tests: the service on a real port against its
// own real PostgreSQL database, a clock the test can move, a users service test double that
// serves a JWKS (so admins and customers go through the platform's real token verification),
// and readers of what the service stored and enqueued.
import { randomUUID } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from "jose";
import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { InventoryService } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { UsersService } from "../../../gen/shop/users/v1/users_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { Code, ShopError } from "../../../platform/errors.js";
import { createClient, createGrpcServer, type CallOptions, type ServiceClient, type ServiceImpl } from "../../../platform/grpc/index.js";
import { createLogger } from "../../../platform/logger.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { createInventoryModule } from "../module.js";

export type InventoryClient = ServiceClient<typeof InventoryService>;

/** Real time plus an offset the test moves forward. */
export interface TestClock {
  readonly now: () => Date;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}

export const AUTH = { issuer: "shop-users-inventory-test", audience: "shop-inventory-test" };

export interface UsersDouble {
  readonly address: string;
  /** A signed access token for `userId`, as the users service would issue it. */
  tokenFor(userId: string, roles?: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Every method answers UNIMPLEMENTED unless the double overrides it. */
function unimplementedMethods<T>(service: { methods: readonly { localName: string }[] }): T {
  const fail = async (): Promise<never> => {
    throw new ShopError(Code.UNIMPLEMENTED, "not in this test double");
  };
  return Object.fromEntries(service.methods.map((m) => [m.localName, fail])) as T;
}

/** A users service that only serves GetJwks, with a key generated here. */
export async function startUsersDouble(): Promise<UsersDouble> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = randomUUID();
  const jwk = await exportJWK(publicKey);
  const server = createGrpcServer({ log: createLogger({ service: "users-double", level: "error" }), reflection: false });
  server.add(UsersService, {
    ...unimplementedMethods<ServiceImpl<typeof UsersService>>(UsersService),
    getJwks: async () => ({ keys: [{ kty: jwk.kty ?? "", crv: jwk.crv ?? "", x: jwk.x ?? "", y: jwk.y ?? "", kid, alg: "ES256", use: "sig" }] }),
  });
  const port = await server.listen("127.0.0.1:0");
  return {
    address: `127.0.0.1:${port}`,
    tokenFor: (userId, roles = ["customer"]) => sign(privateKey, kid, userId, roles),
    stop: () => server.shutdown(100),
  };
}

function sign(key: CryptoKey, kid: string, userId: string, roles: readonly string[]): Promise<string> {
  return new SignJWT({ roles: [...roles] })
    .setProtectedHeader({ alg: "ES256", kid })
    .setSubject(userId)
    .setIssuer(AUTH.issuer)
    .setAudience(AUTH.audience)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key);
}

export interface RunningInventory {
  readonly client: InventoryClient;
  readonly clock: TestClock;
  readonly users: UsersDouble;
  /** The service's schema, for looking at what it stored. */
  readonly db: Db;
  /** The service's database, e.g. for a second replica on it. */
  readonly databaseUrl: string;
  readonly service: RunningService;
  /** Call options of an admin and of a customer. */
  readonly admin: CallOptions;
  readonly customer: CallOptions;
  readonly adminId: string;
  stop(): Promise<void>;
}

/** The inventory service on a fresh database; `env` adds or overrides settings. */
export async function startInventory(env: Record<string, string> = {}, clock = testClock()): Promise<RunningInventory> {
  const tdb: TestDatabase = await createTestDatabase("inventory");
  const users = await startUsersDouble();
  try {
    const service = await startService(createInventoryModule({ clock: clock.now }), {
      DATABASE_URL: tdb.url,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      LOG_LEVEL: "error",
      USERS_ADDR: users.address,
      AUTH_ISSUER: AUTH.issuer,
      AUTH_AUDIENCE: AUTH.audience,
      ...env,
    });
    // A generous deadline: on a busy machine a burst of calls queues for a while, and tests
    // prove outcomes, not speed (a deadline failure would also open the client's breaker).
    const client = createClient(InventoryService, { name: "inventory", address: `127.0.0.1:${service.port}`, timeoutMs: 60_000 });
    const db = createDb({ url: tdb.url, schema: "inventory", applicationName: "inventory-test" });
    const adminId = randomUUID();
    return {
      client,
      clock,
      users,
      db,
      databaseUrl: tdb.url,
      service,
      adminId,
      admin: as(await users.tokenFor(adminId, ["customer", "admin"])),
      customer: as(await users.tokenFor(randomUUID())),
      async stop() {
        client.close();
        await service.stop();
        await db.close();
        await users.stop();
        await tdb.drop();
      },
    };
  } catch (err) {
    await users.stop();
    await tdb.drop();
    throw err;
  }
}

/** Call options carrying `token` as the caller's access token. */
export const as = (token: string): CallOptions => ({ metadata: { authorization: `Bearer ${token}` } });

/** The rejection of `p`, failing the test if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<ShopError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ShopError) return err;
    throw new Error(`expected a ShopError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected the call to fail, but it succeeded");
}

let counter = 0;

/** A SKU code no other test uses. */
export function uniqueSku(prefix = "SKU"): string {
  return `${prefix}-${Date.now().toString(36)}-${counter++}`.toUpperCase();
}

/** Stocks `units` of a new SKU through AdjustStock (as an admin would) and returns its code. */
export async function stockedSku(inv: RunningInventory, units: number, lowStockThreshold?: number): Promise<string> {
  const sku = uniqueSku();
  await inv.client.adjustStock({ sku, delta: units, reason: "test delivery", ...(lowStockThreshold === undefined ? {} : { lowStockThreshold }) }, inv.admin);
  return sku;
}

/** The highest outbox id now, to look only at events a test causes. */
export async function outboxMark(db: Db): Promise<number> {
  const { rows } = await db.query<{ id: number | null }>("SELECT max(id) AS id FROM outbox");
  return Number(rows[0]?.id ?? 0);
}

/** Events of type `schema` in the outbox since `afterId`, oldest first. */
export async function outboxEvents<D extends DescMessage>(db: Db, schema: D, afterId = 0): Promise<MessageShape<D>[]> {
  const { rows } = await db.query<{ payload: Buffer }>("SELECT payload FROM outbox WHERE type = $1 AND id > $2 ORDER BY id", [schema.typeName, afterId]);
  return rows.map((r) => fromBinary(schema, r.payload));
}

/** Types of every event in the outbox since `afterId`, oldest first. */
export async function outboxTypes(db: Db, afterId = 0): Promise<string[]> {
  const { rows } = await db.query<{ type: string }>("SELECT type FROM outbox WHERE id > $1 ORDER BY id", [afterId]);
  return rows.map((r) => r.type);
}

export const orderId = (): string => randomUUID();
