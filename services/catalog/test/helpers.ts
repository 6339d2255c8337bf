// Small named fixtures for the catalog service tests: the service on a real port against its
// own real PostgreSQL database, a users service double that serves a JWKS (so admin and
// customer callers go through the platform's real token verification), and builders for
// products and SKUs.
import { randomUUID } from "node:crypto";
import { type MessageInitShape } from "@bufbuild/protobuf";
import { CatalogService, type CreateProductRequestSchema } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { ProductStatus, type SkuSchema } from "../../../gen/shop/catalog/v1/product_pb.js";
import amqp from "amqplib";
import { StockChangedSchema } from "../../../gen/shop/inventory/v1/events_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { connectAmqpEventBus, createEnvelope, deadLetterExchangeName, deadLetterQueueName } from "../../../platform/events/index.js";
import { createClient, type CallOptions, type ServiceClient } from "../../../platform/grpc/index.js";
import { createLogger } from "../../../platform/logger.js";
import { startService, type RunningService, type SharedParts } from "../../../platform/service.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { createCatalogModule } from "../module.js";
import { startUsersDouble as startUsersDoubleFor, type UsersDouble } from "../../../platform/testing/grpc-double.js";

import { as } from "../../../platform/testing/calls.js";
export { as, rejectionOf } from "../../../platform/testing/calls.js";
export type { UsersDouble } from "../../../platform/testing/grpc-double.js";
export { outboxEvents } from "../../../platform/testing/outbox.js";

export type CatalogClient = ServiceClient<typeof CatalogService>;

export const AUTH = { issuer: "shop-users-catalog-test", audience: "shop-catalog-test" };

/** The users service as this service sees it: a JWKS, and tokens for AUTH signed with its key. */
export const startUsersDouble = (): Promise<UsersDouble> => startUsersDoubleFor(AUTH);

export interface RunningCatalog {
  readonly client: CatalogClient;
  /** The service's schema, for looking at what it stored. */
  readonly db: Db;
  readonly tdb: TestDatabase;
  readonly service: RunningService;
  readonly users: UsersDouble;
  /** Call options of an admin and of a signed-in customer. */
  readonly admin: CallOptions;
  readonly customer: CallOptions;
  stop(): Promise<void>;
}

/** The catalog service on a fresh database; `env` adds or overrides settings. */
export async function startCatalog(env: Record<string, string> = {}, opts: { shared?: SharedParts; clock?: () => Date } = {}): Promise<RunningCatalog> {
  const tdb = await createTestDatabase("catalog");
  const users = await startUsersDouble();
  try {
    const service = await startService(
      createCatalogModule(opts.clock ? { clock: opts.clock } : {}),
      { GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", LOG_LEVEL: "error", USERS_ADDR: users.address, AUTH_ISSUER: AUTH.issuer, AUTH_AUDIENCE: AUTH.audience, DATABASE_URL: tdb.url, ...env },
      opts.shared ?? {},
    );
    const client = createClient(CatalogService, { name: "catalog", address: `127.0.0.1:${service.port}` });
    const db = createDb({ url: tdb.url, schema: "catalog", applicationName: "catalog-test" });
    return {
      client,
      db,
      tdb,
      service,
      users,
      admin: as(await users.tokenFor(randomUUID(), ["customer", "admin"])),
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

let counter = 0;

/** A slug (and SKU code stem) no other test uses. */
export function uniqueSlug(prefix = "product"): string {
  return `${prefix}-${Date.now().toString(36)}-${counter++}`;
}

export type SkuInit = MessageInitShape<typeof SkuSchema>;
export type ProductInit = MessageInitShape<typeof CreateProductRequestSchema>;

/** A SKU priced `priceMinor` EUR cents, active. */
export function sku(
  code: string,
  priceMinor: bigint,
  attributes: Record<string, string> = {},
  more: { name?: string; weightGrams?: number; active?: boolean; currency?: string } = {},
): SkuInit {
  return {
    code,
    name: more.name ?? (Object.values(attributes).join(" / ") || "Standard"),
    price: { amountMinor: priceMinor, currencyCode: more.currency ?? "EUR" },
    attributes,
    weightGrams: more.weightGrams ?? 250,
    active: more.active ?? true,
  };
}

export interface ProductMore {
  slug?: string;
  name?: string;
  description?: string;
  status?: ProductStatus;
  categoryIds?: string[];
  imageUrls?: string[];
  skus?: SkuInit[];
  /** Price of the one SKU made when `skus` is not given. */
  priceMinor?: bigint;
}

/** An ACTIVE product with one SKU at `priceMinor`, unless `more` says otherwise. */
export function productInput(more: ProductMore = {}): ProductInit {
  const slug = more.slug ?? uniqueSlug();
  return {
    slug,
    name: more.name ?? `Product ${slug}`,
    description: more.description ?? "A product made for the tests.",
    status: more.status ?? ProductStatus.ACTIVE,
    categoryIds: more.categoryIds ?? [],
    imageUrls: more.imageUrls ?? [`https://img.example.test/${slug}.jpg`],
    skus: more.skus ?? [sku(`${slug}-${counter++}`.toUpperCase(), more.priceMinor ?? 1000n)],
  };
}

export const amqpUrl = process.env["TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";

export interface StockFeed {
  /** Publishes inventory's StockChanged for `sku` as inventory would (through the exchange). */
  publish(sku: string, available: number, at?: Date): Promise<void>;
  close(): Promise<void>;
}

/** A publisher standing in for the inventory service on `exchange`; close() also deletes the test's topology. */
export async function startStockFeed(exchange: string, queue: string): Promise<StockFeed> {
  const bus = await connectAmqpEventBus({ url: amqpUrl, exchange, appId: "inventory-double", logger: createLogger({ service: "inventory-double", level: "error" }) });
  return {
    publish: (code, available, at) => bus.publish(createEnvelope(StockChangedSchema, { sku: code, onHand: available, available, reason: "adjustment" }, at ? { timestamp: at } : {})),
    async close() {
      await bus.close();
      const conn = await amqp.connect(amqpUrl);
      try {
        const ch = await conn.createChannel();
        for (const q of [queue, deadLetterQueueName(queue)]) await ch.deleteQueue(q);
        for (const x of [exchange, deadLetterExchangeName(exchange)]) await ch.deleteExchange(x);
      } finally {
        await conn.close();
      }
    },
  };
}
