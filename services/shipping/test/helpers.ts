// Small named fixtures for the shipping service tests: the service on a real port against its
// own real PostgreSQL database, a clock the test moves, real gRPC test doubles of its peers (a
// users service serving a JWKS, so signed-in callers go through the platform's real token
// verification; a catalog serving SKU weights), order events built like the order service's,
// and readers for what the service stored and enqueued.
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from "jose";
import { fromBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import type { AddressSchema } from "../../../gen/shop/common/v1/address_pb.js";
import { ShippingSpeed } from "../../../gen/shop/common/v1/shipping_speed_pb.js";
import { OrderPlacedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { OrderStatus } from "../../../gen/shop/order/v1/order_pb.js";
import { ShippingService } from "../../../gen/shop/shipping/v1/shipping_pb.js";
import { UsersService } from "../../../gen/shop/users/v1/users_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { Code, ShopError } from "../../../platform/errors.js";
import type { EventBus } from "../../../platform/events/index.js";
import { createClient, createGrpcServer, type CallOptions, type GrpcServer, type ServiceClient } from "../../../platform/grpc/index.js";
import { createLogger } from "../../../platform/logger.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { createShippingModule } from "../module.js";

export type ShippingClient = ServiceClient<typeof ShippingService>;

const quietLog = createLogger({ service: "shipping-test-double", level: "error" });

/** Every method answers UNIMPLEMENTED unless the double overrides it. */
function unimplementedMethods<T>(service: { methods: readonly { localName: string }[] }): T {
  const fail = async (): Promise<never> => {
    throw new ShopError(Code.UNIMPLEMENTED, "not in this test double");
  };
  return Object.fromEntries(service.methods.map((m) => [m.localName, fail])) as T;
}

async function serve(add: (server: GrpcServer) => void): Promise<{ address: string; stop: () => Promise<void> }> {
  const server = createGrpcServer({ service: "test-double", log: quietLog, reflection: false });
  add(server);
  const port = await server.listen("127.0.0.1:0");
  return { address: `127.0.0.1:${port}`, stop: () => server.shutdown(100) };
}

export const AUTH = { issuer: "shop-users-shipping-test", audience: "shop-shipping-test" };

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
  const running = await serve((server) =>
    server.add(UsersService, {
      ...unimplementedMethods(UsersService),
      getJwks: async () => ({ keys: [{ kty: jwk.kty ?? "", crv: jwk.crv ?? "", x: jwk.x ?? "", y: jwk.y ?? "", kid, alg: "ES256", use: "sig" }] }),
    }),
  );
  return { address: running.address, tokenFor: (userId, roles = ["customer"]) => sign(privateKey, kid, userId, roles), stop: running.stop };
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

export interface CatalogDouble {
  readonly address: string;
  /** Grams per SKU; SKUs not set are unknown to the catalog. */
  readonly weights: Map<string, number>;
  stop(): Promise<void>;
}

/** A catalog that only serves BatchGetSkus, with the weights the test sets. */
export async function startCatalogDouble(): Promise<CatalogDouble> {
  const weights = new Map<string, number>();
  const running = await serve((server) =>
    server.add(CatalogService, {
      ...unimplementedMethods(CatalogService),
      batchGetSkus: async (req) => ({
        skus: req.skus.flatMap((code) => {
          const grams = weights.get(code);
          return grams === undefined ? [] : [{ sku: { code, name: code, weightGrams: grams, active: true }, productId: `p-${code}`, purchasable: true }];
        }),
        missingSkus: req.skus.filter((code) => !weights.has(code)),
      }),
    }),
  );
  return { address: running.address, weights, stop: running.stop };
}

/** An address where nothing listens: a peer that is down. */
export async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
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

export interface ShippingPeers {
  readonly databaseUrl: string;
  readonly users: string;
  readonly catalog: string;
}

export interface RunningShipping {
  readonly client: ShippingClient;
  readonly service: RunningService;
  /** The service's schema, to look at what it stored. */
  readonly db: Db;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly env?: Record<string, string>;
  readonly clock?: () => Date;
  /** A bus shared with the test (the in-process one), instead of one of the service's own. */
  readonly bus?: EventBus;
}

/** The shipping service on a real port. The tracking job is slow unless `env` says otherwise. */
export async function startShipping(peers: ShippingPeers, opts: StartOptions = {}): Promise<RunningShipping> {
  const service = await startService(
    createShippingModule(opts.clock ? { clock: opts.clock } : {}),
    {
      DATABASE_URL: peers.databaseUrl,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      LOG_LEVEL: process.env["SHIPPING_TEST_LOG"] ?? "error",
      USERS_ADDR: peers.users,
      CATALOG_ADDR: peers.catalog,
      AUTH_ISSUER: AUTH.issuer,
      AUTH_AUDIENCE: AUTH.audience,
      SHIPPING_TRACKING_INTERVAL: "1h",
      ...opts.env,
    },
    opts.bus ? { bus: opts.bus } : {},
  );
  const client = createClient(ShippingService, { service: "test", name: "shipping", address: `127.0.0.1:${service.port}` });
  const db = createDb({ url: peers.databaseUrl, schema: "shipping", applicationName: "shipping-test" });
  return {
    client,
    service,
    db,
    async stop() {
      client.close();
      await service.stop();
      await db.close();
    },
  };
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

type AddressField = "recipientName" | "line1" | "line2" | "city" | "region" | "postalCode" | "countryCode" | "phone";

export function address(overrides: { readonly [K in AddressField]?: string } = {}): MessageInitShape<typeof AddressSchema> {
  return { recipientName: "Ada Lovelace", line1: "1 Main St", city: "Springfield", region: "IL", postalCode: "62701", countryCode: "US", phone: "", ...overrides };
}

export interface PlacedOrder {
  readonly orderId: string;
  readonly userId: string;
  readonly message: MessageInitShape<typeof OrderPlacedSchema>;
}

/** An OrderPlaced as the order service publishes it, for a new order of `userId`. */
export function orderPlaced(opts: { userId?: string; lines?: readonly { sku: string; quantity: number }[]; speed?: ShippingSpeed } = {}): PlacedOrder {
  const orderId = randomUUID();
  const userId = opts.userId ?? randomUUID();
  const lines = opts.lines ?? [{ sku: "SHIRT-M", quantity: 2 }];
  return {
    orderId,
    userId,
    message: {
      order: {
        id: orderId,
        userId,
        status: OrderStatus.CONFIRMED,
        lines: lines.map((l) => ({ sku: l.sku, quantity: l.quantity, productName: `Product ${l.sku}` })),
        shippingAddress: address(),
        shippingSpeed: opts.speed ?? ShippingSpeed.STANDARD,
      },
    },
  };
}

/** The decoded events of type `schema` in the service's outbox, oldest first. */
export async function outboxEvents<D extends DescMessage>(db: Db, schema: D): Promise<MessageShape<D>[]> {
  const { rows } = await db.query<{ payload: Buffer }>("SELECT payload FROM outbox WHERE type = $1 ORDER BY id", [schema.typeName]);
  return rows.map((r) => fromBinary(schema, new Uint8Array(r.payload)));
}

/** The finished consumer span that handled event `id` with `outcome` ("handled" or "duplicate"). */
export function consumerSpan(spans: readonly ReadableSpan[], id: string, outcome: "handled" | "duplicate"): ReadableSpan | undefined {
  return spans.find((s) => s.attributes["messaging.message.id"] === id && s.attributes["shop.event.outcome"] === outcome);
}
