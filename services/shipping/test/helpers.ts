// Small named fixtures for the shipping service tests: the service on a real port against its
// own real PostgreSQL database, a clock the test moves, real gRPC test doubles of its peers (a
// users service serving a JWKS, so signed-in callers go through the platform's real token
// verification; a catalog serving SKU weights), order events built like the order service's,
// and readers for what the service stored and enqueued.
import { randomUUID } from "node:crypto";
import { type MessageInitShape } from "@bufbuild/protobuf";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import type { AddressSchema } from "../../../gen/shop/common/v1/address_pb.js";
import { ShippingSpeed } from "../../../gen/shop/common/v1/shipping_speed_pb.js";
import { OrderPlacedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { OrderStatus } from "../../../gen/shop/order/v1/order_pb.js";
import { ShippingService } from "../../../gen/shop/shipping/v1/shipping_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import type { EventBus } from "../../../platform/events/index.js";
import { createClient, type ServiceClient } from "../../../platform/grpc/index.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { createShippingModule } from "../module.js";
import { serveDouble, startUsersDouble as startUsersDoubleFor, type UsersDouble } from "../../../platform/testing/grpc-double.js";

export { as, rejectionOf } from "../../../platform/testing/calls.js";
export { testClock, type TestClock } from "../../../platform/testing/clock.js";
export { deadAddress } from "../../../platform/testing/ports.js";
export type { UsersDouble } from "../../../platform/testing/grpc-double.js";
export { outboxEvents } from "../../../platform/testing/outbox.js";

export type ShippingClient = ServiceClient<typeof ShippingService>;

export const AUTH = { issuer: "shop-users-shipping-test", audience: "shop-shipping-test" };

/** The users service as this service sees it: a JWKS, and tokens for AUTH signed with its key. */
export const startUsersDouble = (): Promise<UsersDouble> => startUsersDoubleFor(AUTH);

export interface CatalogDouble {
  readonly address: string;
  /** Grams per SKU; SKUs not set are unknown to the catalog. */
  readonly weights: Map<string, number>;
  stop(): Promise<void>;
}

/** A catalog that only serves BatchGetSkus, with the weights the test sets. */
export async function startCatalogDouble(): Promise<CatalogDouble> {
  const weights = new Map<string, number>();
  const running = await serveDouble(CatalogService, {
    batchGetSkus: async (req) => ({
      skus: req.skus.flatMap((code) => {
        const grams = weights.get(code);
        return grams === undefined ? [] : [{ sku: { code, name: code, weightGrams: grams, active: true }, productId: `p-${code}`, purchasable: true }];
      }),
      missingSkus: req.skus.filter((code) => !weights.has(code)),
    }),
  });
  return { address: running.address, weights, stop: () => running.stop() };
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
  const client = createClient(ShippingService, { name: "shipping", address: `127.0.0.1:${service.port}` });
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

/** The finished consumer span that handled event `id` with `outcome` ("handled" or "duplicate"). */
export function consumerSpan(spans: readonly ReadableSpan[], id: string, outcome: "handled" | "duplicate"): ReadableSpan | undefined {
  return spans.find((s) => s.attributes["messaging.message.id"] === id && s.attributes["shop.event.outcome"] === outcome);
}
