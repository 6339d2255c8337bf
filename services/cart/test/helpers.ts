// Small named fixtures for the cart service tests: the cart service on a real port against its
// own real PostgreSQL database, and real gRPC test doubles of its peers: a catalog whose SKUs
// the test defines, an inventory whose stock the test sets, and a users service that serves a
// JWKS so signed-in callers go through the platform's real token verification.
import { createServer } from "node:net";
import { randomUUID } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from "jose";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CartService } from "../../../gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import type { SkuDetailsSchema } from "../../../gen/shop/catalog/v1/product_pb.js";
import { InventoryService } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { UsersService } from "../../../gen/shop/users/v1/users_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { Code, ShopError } from "../../../platform/errors.js";
import { createClient, createGrpcServer, type CallOptions, type GrpcServer, type ServiceClient } from "../../../platform/grpc/index.js";
import { createLogger } from "../../../platform/logger.js";
import { startService, type RunningService, type SharedParts } from "../../../platform/service.js";
import { createCartModule } from "../module.js";

export type CartClient = ServiceClient<typeof CartService>;
type SkuDetailsInit = MessageInitShape<typeof SkuDetailsSchema>;

const quietLog = createLogger({ service: "cart-test-double", level: "error" });

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

export interface TestSku {
  readonly code: string;
  readonly priceMinor: bigint;
  readonly currency?: string;
  readonly name?: string;
  readonly productName?: string;
  readonly purchasable?: boolean;
}

export interface CatalogDouble {
  readonly address: string;
  /** Adds or replaces a SKU (a price change is a put with a new price). */
  put(sku: TestSku): void;
  /** The catalog forgets the SKU (BatchGetSkus lists it as missing). */
  remove(code: string): void;
  stop(): Promise<void>;
}

export async function startCatalogDouble(skus: readonly TestSku[] = []): Promise<CatalogDouble> {
  const known = new Map<string, SkuDetailsInit>();
  const put = (s: TestSku) =>
    void known.set(s.code, {
      sku: { code: s.code, name: s.name ?? `${s.code} variant`, price: { amountMinor: s.priceMinor, currencyCode: s.currency ?? "USD" }, active: true },
      productId: `product-${s.code}`,
      productName: s.productName ?? `Product ${s.code}`,
      productSlug: s.code.toLowerCase(),
      imageUrl: `https://img.example.test/${s.code}.jpg`,
      purchasable: s.purchasable ?? true,
    });
  skus.forEach(put);
  const running = await serve((server) =>
    server.add(CatalogService, {
      ...unimplementedMethods(CatalogService),
      batchGetSkus: async (req) => ({
        skus: req.skus.flatMap((code) => known.get(code) ?? []),
        missingSkus: req.skus.filter((code) => !known.has(code)),
      }),
    }),
  );
  return { address: running.address, put, remove: (code) => void known.delete(code), stop: running.stop };
}

export interface InventoryDouble {
  readonly address: string;
  /** Units available per SKU; SKUs never set have 0, as the real inventory says. */
  readonly stock: Map<string, number>;
  stop(): Promise<void>;
}

export async function startInventoryDouble(stock: Record<string, number> = {}): Promise<InventoryDouble> {
  const levels = new Map(Object.entries(stock));
  const running = await serve((server) =>
    server.add(InventoryService, {
      ...unimplementedMethods(InventoryService),
      batchGetStock: async (req) => ({
        stock: req.skus.map((sku) => ({ sku, onHand: levels.get(sku) ?? 0, reserved: 0, available: levels.get(sku) ?? 0 })),
      }),
    }),
  );
  return { address: running.address, stock: levels, stop: running.stop };
}

export const AUTH = { issuer: "shop-users-cart-test", audience: "shop-cart-test" };

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

export interface RunningCart {
  readonly client: CartClient;
  readonly service: RunningService;
  stop(): Promise<void>;
}

export interface CartPeers {
  readonly databaseUrl: string;
  readonly catalog: string;
  readonly inventory: string;
  readonly users: string;
}

/** The cart service on a real port; several may share one database. */
export async function startCart(peers: CartPeers, env: Record<string, string> = {}, clock?: TestClock, shared: SharedParts = {}): Promise<RunningCart> {
  const service = await startService(createCartModule(clock ? { clock: clock.now } : {}), {
    DATABASE_URL: peers.databaseUrl,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    LOG_LEVEL: "error",
    USERS_ADDR: peers.users,
    CATALOG_ADDR: peers.catalog,
    INVENTORY_ADDR: peers.inventory,
    AUTH_ISSUER: AUTH.issuer,
    AUTH_AUDIENCE: AUTH.audience,
    ...env,
  }, shared);
  const client = createClient(CartService, { service: "test", name: "cart", address: `127.0.0.1:${service.port}` });
  return {
    client,
    service,
    async stop() {
      client.close();
      await service.stop();
    },
  };
}

/** The cart service's schema, to look at what it stored. */
export const cartDb = (databaseUrl: string): Db => createDb({ url: databaseUrl, schema: "cart", applicationName: "cart-test" });

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

/** A SKU code no other test uses, so tests sharing a catalog double never collide. */
export function uniqueSku(prefix = "SKU"): string {
  return `${prefix}-${Date.now().toString(36)}-${counter++}`.toUpperCase();
}

/** Event types in the cart's outbox since `afterId`, oldest first. */
export async function outboxEvents(db: Db, afterId = 0): Promise<{ id: number; type: string; payload: Uint8Array }[]> {
  const { rows } = await db.query<{ id: number; type: string; payload: Buffer }>("SELECT id, type, payload FROM outbox WHERE id > $1 ORDER BY id", [afterId]);
  return rows.map((r) => ({ id: Number(r.id), type: r.type, payload: new Uint8Array(r.payload) }));
}

/** The highest outbox id now, to look only at events a test causes. */
export async function outboxMark(db: Db): Promise<number> {
  const { rows } = await db.query<{ id: number | null }>("SELECT max(id) AS id FROM outbox");
  return Number(rows[0]?.id ?? 0);
}
