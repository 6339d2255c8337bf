// The order service as the platform runs it: configuration, peers, the saga runner, the
// recovery loop and the shipping-event consumer. Callers' tokens are verified by the platform
// against the users service's JWKS (USERS_ADDR). Every peer comes in through an adapter that
// a test may replace (CreateOrderModuleOptions); by default each is a gRPC client.
import { randomUUID } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import { createClient, type ServiceClient } from "../../platform/grpc/index.js";
import { sourcePath } from "../../platform/paths.js";
import type { ServiceModule } from "../../platform/service.js";
import { CartService, createGrpcCarts, type Carts } from "./cart.js";
import { CatalogService, createGrpcCatalog, type Catalog } from "./catalog.js";
import { createCheckout } from "./checkout.js";
import { orderConfig } from "./config.js";
import { createGrpcInventory, InventoryService, type Inventory } from "./inventory.js";
import { createOrders } from "./orders.js";
import { createGrpcPayments, PaymentService, type Payments } from "./payments.js";
import { createGrpcPromotions, PromotionService, type Promotions } from "./promotions.js";
import { startRecovery } from "./recovery.js";
import { createSagaRunner } from "./saga.js";
import type { CrashPoint } from "./saga-plan.js";
import { createOrderService, OrderService } from "./service.js";
import { createGrpcShippingQuotes, ShippingService, type ShippingQuotes } from "./shipping-quotes.js";
import { subscribeShippingEvents } from "./shipping-events.js";
import { createOrderStore } from "./store.js";
import { queueName } from "../../platform/events/index.js";

export interface OrderModuleOptions {
  /** The service's notion of now (order and history times, saga deadlines). */
  readonly clock?: () => Date;
  readonly inventory?: Inventory;
  readonly payments?: Payments;
  readonly promotions?: Promotions;
  readonly shippingQuotes?: ShippingQuotes;
  readonly carts?: Carts;
  readonly catalog?: Catalog;
  /** Replaces ORDER_CRASH_AFTER_STEP's exit(137), e.g. to throw in an in-process test. */
  readonly crashPoint?: (point: CrashPoint) => void;
}

export function createOrderModule(opts: OrderModuleOptions = {}): ServiceModule<typeof orderConfig> {
  const clock = opts.clock ?? (() => new Date());
  return {
    name: "order",
    defaultPort: 50056,
    config: orderConfig,
    migrations: sourcePath("services", "order", "migrations"),
    async setup(parts) {
      const { config, db, log, bus, server } = parts;
      const onStop = (fn: () => Promise<void> | void) => parts.onStop(fn);
      function peer<S extends DescService, T>(given: T | undefined, service: S, name: string, address: string, adapt: (c: ServiceClient<S>) => T): T {
        if (given) return given;
        const client = createClient(service, { name, address, timeoutMs: config.PEER_TIMEOUT });
        onStop(() => client.close());
        return adapt(client);
      }
      const inventory = peer(opts.inventory, InventoryService, "inventory", config.INVENTORY_ADDR, createGrpcInventory);
      const payments = peer(opts.payments, PaymentService, "payment", config.PAYMENT_ADDR, createGrpcPayments);
      const promotions = peer(opts.promotions, PromotionService, "promotion", config.PROMOTION_ADDR, createGrpcPromotions);
      const shippingQuotes = peer(opts.shippingQuotes, ShippingService, "shipping", config.SHIPPING_ADDR, createGrpcShippingQuotes);
      const carts = peer(opts.carts, CartService, "cart", config.CART_ADDR, createGrpcCarts);
      const catalog = peer(opts.catalog, CatalogService, "catalog", config.CATALOG_ADDR, createGrpcCatalog);

      const crashAt = config.ORDER_CRASH_AFTER_STEP;
      const crashPoint =
        opts.crashPoint ??
        (crashAt
          ? (point: CrashPoint) => {
              if (point !== crashAt) return;
              log.error("ORDER_CRASH_AFTER_STEP reached: exiting as if killed", { point });
              process.exit(137);
            }
          : undefined);

      // This replica's identity in saga leases; a restart is a new replica.
      const owner = `order-${randomUUID()}`;
      const store = createOrderStore(db);
      const leaseMs = config.ORDER_SAGA_LEASE;
      const runner = createSagaRunner({
        store,
        inventory,
        payments,
        promotions,
        clock,
        log,
        owner,
        leaseMs,
        retry: { initialMs: config.ORDER_SAGA_RETRY_INITIAL, maxMs: config.ORDER_SAGA_RETRY_MAX },
        reservationTtlMs: Math.min(config.ORDER_RESERVATION_TTL, 3_600_000),
        ...(crashPoint ? { crashPoint } : {}),
      });
      const checkout = createCheckout({
        store,
        runner,
        carts,
        catalog,
        promotions,
        shippingQuotes,
        taxRates: { byCountry: config.ORDER_TAX_RATES, defaultBps: config.ORDER_TAX_DEFAULT_BPS },
        clock,
        owner,
        leaseMs,
        sagaDeadlineMs: config.ORDER_SAGA_DEADLINE,
        placeWaitMs: config.ORDER_PLACE_WAIT,
        log,
        ...(crashPoint ? { crashPoint } : {}),
      });
      const orders = createOrders({ store, runner, clock, owner, leaseMs, sagaDeadlineMs: config.ORDER_SAGA_DEADLINE, waitMs: config.ORDER_PLACE_WAIT, log });
      server.add(OrderService, createOrderService({ checkout, orders }));
      await subscribeShippingEvents(bus, db, orders, queueName(config.AMQP_EXCHANGE, "order", "shipping-events"));

      // Registered after the consumer so they stop before it (reverse order): no new saga
      // starts, running ones stop at a step boundary and give their leases up.
      const recovery = startRecovery({ store, runner, owner, leaseMs, intervalMs: config.ORDER_RECOVERY_INTERVAL, batch: config.ORDER_RECOVERY_BATCH, log });
      onStop(async () => {
        await recovery.stop();
        await runner.stop();
      });
    },
  };
}

export const orderModule = createOrderModule();
