// The inventory service as the platform runs it: configuration, wiring, the expiry job and
// the outbox pruning.
// Callers' tokens (admins' on AdjustStock and ListReservations) are verified by the platform
// against the users service's JWKS (USERS_ADDR). No peers are called.
import { pruneOutbox } from "../../platform/events/index.js";
import { sourcePath } from "../../platform/paths.js";
import type { ServiceModule } from "../../platform/service.js";
import { inventoryConfig } from "./config.js";
import { startExpiry } from "./expiry.js";
import { createReservations } from "./reservations.js";
import { startPeriodic } from "../../platform/periodic.js";
import { createInventoryService, InventoryService } from "./service.js";
import { createStockLevels } from "./stock-levels.js";
import { createInventoryStore } from "./store.js";

export interface InventoryModuleOptions {
  /** The service's notion of now: reservation times and expiry. Tests move it. */
  readonly clock?: () => Date;
}

export function createInventoryModule(opts: InventoryModuleOptions = {}): ServiceModule<typeof inventoryConfig> {
  const clock = opts.clock ?? (() => new Date());
  return {
    name: "inventory",
    defaultPort: 50054,
    config: inventoryConfig,
    migrations: sourcePath("services", "inventory", "migrations"),
    setup(parts) {
      const { config, db, log, server } = parts;
      const store = createInventoryStore(db);
      const stock = createStockLevels({ store, clock, defaultLowStockThreshold: config.INVENTORY_LOW_STOCK_THRESHOLD });
      const reservations = createReservations({ store, clock, defaultTtlMs: config.INVENTORY_RESERVATION_TTL, log });
      server.add(InventoryService, createInventoryService({ stock, reservations }));
      const expiry = startExpiry({ reservations, intervalMs: config.INVENTORY_EXPIRY_INTERVAL, batch: config.INVENTORY_EXPIRY_BATCH, log });
      parts.onStop(() => expiry.stop());
      // Every reservation enqueues an event, so published ones are pruned rather than kept forever.
      const retention = config.INVENTORY_OUTBOX_RETENTION;
      const prune = startPeriodic({
        name: "prune outbox",
        intervalMs: Math.min(retention, 10 * 60_000),
        run: async () => {
          const n = await pruneOutbox(db, retention);
          if (n > 0) log.info("published events pruned from the outbox", { count: n });
        },
        log,
      });
      parts.onStop(() => prune.stop());
    },
  };
}

export const inventoryModule = createInventoryModule();
