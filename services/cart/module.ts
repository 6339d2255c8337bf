// The cart service as the platform runs it: configuration, peers, wiring, the cleanup job and
// the OrderPlaced consumer that empties the buyer's cart.
// Callers' tokens are verified by the platform against the users service's JWKS (USERS_ADDR).
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.js";
import { createClient } from "../../platform/grpc/index.js";
import { sourcePath } from "../../platform/paths.js";
import type { ServiceModule } from "../../platform/service.js";
import { createInventoryAvailability, type Availability } from "./availability.js";
import { createCarts } from "./carts.js";
import { createGrpcCatalog, type Catalog } from "./catalog.js";
import { startCleanup } from "./cleanup.js";
import { cartConfig } from "./config.js";
import { subscribeToOrderPlaced } from "./order-events.js";
import { CartService, createCartService } from "./service.js";
import { createCartStore } from "./store.js";
import { queueName } from "../../platform/events/index.js";

export interface CartModuleOptions {
  /** The service's notion of now: expiry and line times. Tests move it. */
  readonly clock?: () => Date;
  /** Replace the gRPC catalog (CATALOG_ADDR), e.g. with an in-process one. */
  readonly catalog?: Catalog;
  /** Replace the gRPC inventory (INVENTORY_ADDR). */
  readonly availability?: Availability;
}

export function createCartModule(opts: CartModuleOptions = {}): ServiceModule<typeof cartConfig> {
  const clock = opts.clock ?? (() => new Date());
  return {
    name: "cart",
    defaultPort: 50053,
    config: cartConfig,
    migrations: sourcePath("services", "cart", "migrations"),
    async setup({ name, config, db, bus, log, server, onStop }) {
      let catalog = opts.catalog;
      if (!catalog) {
        const client = createClient(CatalogService, { name: "catalog", address: config.CATALOG_ADDR, timeoutMs: config.CATALOG_TIMEOUT });
        onStop(() => client.close());
        catalog = createGrpcCatalog(client);
      }
      let availability = opts.availability;
      if (!availability) {
        const client = createClient(InventoryService, { name: "inventory", address: config.INVENTORY_ADDR, timeoutMs: config.INVENTORY_TIMEOUT });
        onStop(() => client.close());
        availability = createInventoryAvailability(client);
      }
      const store = createCartStore(db);
      const carts = createCarts({
        store,
        catalog,
        availability,
        clock,
        log,
        limits: { maxLines: config.CART_MAX_LINES, maxLineQuantity: config.CART_MAX_LINE_QUANTITY },
        ttl: { guestMs: config.CART_GUEST_TTL, userMs: config.CART_USER_TTL },
      });
      server.add(CartService, createCartService(carts));
      await subscribeToOrderPlaced({ bus, db, queue: queueName(config.AMQP_EXCHANGE, name, "orders") });
      const cleanup = startCleanup({ store, clock, intervalMs: config.CART_CLEANUP_INTERVAL, batch: config.CART_CLEANUP_BATCH, log });
      onStop(() => cleanup.stop());
    },
  };
}

export const cartModule = createCartModule();
