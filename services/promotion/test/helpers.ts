// Small named fixtures for the promotion service tests: the service on a real port against its
// own real PostgreSQL database, and a real gRPC users double serving a JWKS, so admins and
// customers go through the platform's real token verification and access checks.
import { randomUUID } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from "jose";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { PromotionKind, PromotionService, type PromotionSchema } from "../../../gen/shop/promotion/v1/promotion_pb.js";
import { UsersService } from "../../../gen/shop/users/v1/users_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { Code, ShopError } from "../../../platform/errors.js";
import { createClient, createGrpcServer, type CallOptions, type ServiceClient, type ServiceImpl } from "../../../platform/grpc/index.js";
import { createLogger } from "../../../platform/logger.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { createPromotionModule } from "../module.js";

export type PromotionClient = ServiceClient<typeof PromotionService>;
export type PromotionInit = MessageInitShape<typeof PromotionSchema>;

export const AUTH = { issuer: "shop-users-promotion-test", audience: "shop-promotion-test" };

export interface UsersDouble {
  readonly address: string;
  /** A signed access token for `userId`, as the users service would issue it. */
  tokenFor(userId: string, roles?: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

/** A users service that only serves GetJwks, with a key generated here. */
export async function startUsersDouble(): Promise<UsersDouble> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const kid = randomUUID();
  const jwk = await exportJWK(publicKey);
  const server = createGrpcServer({ service: "test-double", log: createLogger({ service: "users-double", level: "error" }), reflection: false });
  const fail = async (): Promise<never> => {
    throw new ShopError(Code.UNIMPLEMENTED, "not in this test double");
  };
  server.add(UsersService, {
    ...(Object.fromEntries(UsersService.methods.map((m) => [m.localName, fail])) as unknown as ServiceImpl<typeof UsersService>),
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

/** Real time plus an offset the test moves forward. */
export interface TestClock {
  readonly now: () => Date;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}

export interface RunningPromotion {
  readonly client: PromotionClient;
  readonly service: RunningService;
  stop(): Promise<void>;
}

/** The promotion service on a real port. */
export async function startPromotion(opts: { databaseUrl: string; users: string; clock?: TestClock; env?: Record<string, string> }): Promise<RunningPromotion> {
  const service = await startService(createPromotionModule(opts.clock ? { clock: opts.clock.now } : {}), {
    DATABASE_URL: opts.databaseUrl,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    LOG_LEVEL: "error",
    USERS_ADDR: opts.users,
    AUTH_ISSUER: AUTH.issuer,
    AUTH_AUDIENCE: AUTH.audience,
    ...opts.env,
  });
  const client = createClient(PromotionService, { service: "test", name: "promotion", address: `127.0.0.1:${service.port}` });
  return {
    client,
    service,
    async stop() {
      client.close();
      await service.stop();
    },
  };
}

/** The promotion service's schema, to look at what it stored. */
export const promotionDb = (databaseUrl: string): Db => createDb({ url: databaseUrl, schema: "promotion", applicationName: "promotion-test" });

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

/** A coupon code no other test uses. */
export function uniqueCode(prefix = "C"): string {
  return `${prefix}${Date.now().toString(36)}${counter++}`.toUpperCase();
}

/** A SKU no other test uses, so automatic promotions of one test never touch another's carts. */
export function uniqueSku(prefix = "SKU"): string {
  return `${prefix}-${Date.now().toString(36)}-${counter++}`.toUpperCase();
}

export const usd = (amountMinor: bigint) => ({ amountMinor, currencyCode: "USD" });
export const at = (d: Date) => timestampFromDate(d);

/** A promotion as an admin would send it: a 10% coupon on the given SKUs unless overridden. */
export function promotionInit(skus: readonly string[], overrides: PromotionInit = {}): PromotionInit {
  const defaults: PromotionInit = { name: "Test promotion", kind: PromotionKind.PERCENTAGE, percentBps: 1000, appliesTo: { skus: [...skus], categoryIds: [] } };
  return { ...defaults, ...overrides } as PromotionInit;
}

/** Event types and payloads in the outbox since `afterId`, oldest first. */
export async function outboxEvents(db: Db, afterId = 0): Promise<{ id: number; type: string; payload: Uint8Array }[]> {
  const { rows } = await db.query<{ id: number; type: string; payload: Buffer }>("SELECT id, type, payload FROM outbox WHERE id > $1 ORDER BY id", [afterId]);
  return rows.map((r) => ({ id: Number(r.id), type: r.type, payload: new Uint8Array(r.payload) }));
}

/** The highest outbox id now, to look only at events a test causes. */
export async function outboxMark(db: Db): Promise<number> {
  const { rows } = await db.query<{ id: number | null }>("SELECT max(id) AS id FROM outbox");
  return Number(rows[0]?.id ?? 0);
}
