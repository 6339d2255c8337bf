// The catalog service as the platform runs it: configuration, wiring, the stock projection's
// consumer and, when asked, the demo catalog. Callers' tokens are verified by the platform
// against the users service's JWKS (USERS_ADDR); only admins' roles matter here.
import { sourcePath } from "../../platform/paths.js";
import type { ServiceModule } from "../../platform/service.js";
import { createBrowsing } from "./browsing.js";
import { createCategories } from "./categories.js";
import { catalogConfig } from "./config.js";
import { createProducts } from "./products.js";
import { seedDemoCatalog } from "./seed.js";
import { CatalogService, createCatalogService } from "./service.js";
import { subscribeStockLevels } from "./stock-levels.js";
import { createCatalogStore } from "./store.js";
import { queueName } from "../../platform/events/index.js";

export interface CatalogModuleOptions {
  /** The service's notion of now: product and category times. Tests move it. */
  readonly clock?: () => Date;
}

export function createCatalogModule(opts: CatalogModuleOptions = {}): ServiceModule<typeof catalogConfig> {
  const clock = opts.clock ?? (() => new Date());
  return {
    name: "catalog",
    defaultPort: 50052,
    config: catalogConfig,
    migrations: sourcePath("services", "catalog", "migrations"),
    async setup({ config, db, bus, log, server }) {
      const store = createCatalogStore(db);
      const categories = createCategories({ db, clock });
      server.add(
        CatalogService,
        createCatalogService({ products: createProducts({ store, clock }), browsing: createBrowsing({ store, categories }), categories }),
      );
      await subscribeStockLevels({ bus, db, store, queue: queueName(config.AMQP_EXCHANGE, "catalog", "stock-levels") });
      if (config.SEED_DEMO_CATALOG) {
        const seeded = await seedDemoCatalog(db);
        if (seeded.products > 0) log.info("demo catalog seeded", { products: seeded.products, skus: seeded.skus });
      }
    },
  };
}

export const catalogModule = createCatalogModule();
