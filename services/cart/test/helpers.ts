// Small named fixtures for the cart service tests: the cart service on a real port against its
// own real PostgreSQL database, and real gRPC test doubles of its peers: a catalog whose SKUs
// the test defines, an inventory whose stock the test sets, and a users service that serves a
// JWKS so signed-in callers go through the platform's real token verification.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CartService } from "../../../gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import type { SkuDetailsSchema } from "../../../gen/shop/catalog/v1/product_pb.js";
import { InventoryService } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { createClient, type ServiceClient } from "../../../platform/grpc/index.js";
import { startService, type RunningService, type SharedParts } from "../../../platform/service.js";
import { createCartModule } from "../module.js";
import { serveDouble, startUsersDouble as startUsersDoubleFor, type UsersDouble } from "../../../platform/testing/grpc-double.js";

export { as, rejectionOf } from "../../../platform/testing/calls.js";
import type { TestClock } from "../../../platform/testing/clock.js";
export { testClock, type TestClock } from "../../../platform/testing/clock.js";
export { deadAddress } from "../../../platform/testing/ports.js";
export type { UsersDouble } from "../../../platform/testing/grpc-double.js";
export { outboxMark, outboxRows } from "../../../platform/testing/outbox.js";

export type CartClient = ServiceClient<typeof CartService>;
type SkuDetailsInit = MessageInitShape<typeof SkuDetailsSchema>;

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
  const running = await serveDouble(CatalogService, {
    batchGetSkus: async (req) => ({
      skus: req.skus.flatMap((code) => known.get(code) ?? []),
      missingSkus: req.skus.filter((code) => !known.has(code)),
    }),
  });
  return { address: running.address, put, remove: (code) => void known.delete(code), stop: () => running.stop() };
}

export interface InventoryDouble {
  readonly address: string;
  /** Units available per SKU; SKUs never set have 0, as the real inventory says. */
  readonly stock: Map<string, number>;
  stop(): Promise<void>;
}

export async function startInventoryDouble(stock: Record<string, number> = {}): Promise<InventoryDouble> {
  const levels = new Map(Object.entries(stock));
  const running = await serveDouble(InventoryService, {
    batchGetStock: async (req) => ({
      stock: req.skus.map((sku) => ({ sku, onHand: levels.get(sku) ?? 0, reserved: 0, available: levels.get(sku) ?? 0 })),
    }),
  });
  return { address: running.address, stock: levels, stop: () => running.stop() };
}

export const AUTH = { issuer: "shop-users-cart-test", audience: "shop-cart-test" };

/** The users service as this service sees it: a JWKS, and tokens for AUTH signed with its key. */
export const startUsersDouble = (): Promise<UsersDouble> => startUsersDoubleFor(AUTH);

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
  const client = createClient(CartService, { name: "cart", address: `127.0.0.1:${service.port}` });
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

let counter = 0;

/** A SKU code no other test uses, so tests sharing a catalog double never collide. */
export function uniqueSku(prefix = "SKU"): string {
  return `${prefix}-${Date.now().toString(36)}-${counter++}`.toUpperCase();
}
