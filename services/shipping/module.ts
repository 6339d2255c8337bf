// The shipping service as the platform runs it: configuration, peers, carriers, the order-event
// consumer and the tracking job. Callers' tokens are verified by the platform against the users
// service's JWKS (USERS_ADDR).
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { createClient } from "../../platform/grpc/index.js";
import { sourcePath } from "../../platform/paths.js";
import type { ServiceModule } from "../../platform/service.js";
import type { Carrier } from "./carriers/carrier.js";
import { createSandboxCarrier } from "./carriers/sandbox.js";
import { createCatalogWeights, type Weights } from "./catalog.js";
import { shippingConfig } from "./config.js";
import { subscribeToOrderEvents } from "./order-events.js";
import { createRateBook } from "./rate-book.js";
import { createShippingService, ShippingService } from "./service.js";
import { createShipments } from "./shipments.js";
import { createShippingStore } from "./store.js";
import { startTrackingJob } from "./tracking-job.js";
import { queueName } from "../../platform/events/index.js";

export interface ShippingModuleOptions {
  /** The service's notion of now: quotes, shipment times, the sandbox carrier's progress. Tests move it. */
  readonly clock?: () => Date;
  /** Replace the gRPC catalog (CATALOG_ADDR) as the source of SKU weights. */
  readonly weights?: Weights;
  /** Carrier adapters besides the sandbox (one with the sandbox's name replaces it). */
  readonly carriers?: readonly Carrier[];
}

export function createShippingModule(opts: ShippingModuleOptions = {}): ServiceModule<typeof shippingConfig> {
  const clock = opts.clock ?? (() => new Date());
  return {
    name: "shipping",
    defaultPort: 50058,
    config: shippingConfig,
    migrations: sourcePath("services", "shipping", "migrations"),
    async setup(parts) {
      const { config, db, bus, log, server, name } = parts;
      const onStop = (fn: () => Promise<void> | void) => parts.onStop(fn);
      let weights = opts.weights;
      if (!weights) {
        const client = createClient(CatalogService, { name: "catalog", address: config.CATALOG_ADDR, timeoutMs: config.CATALOG_TIMEOUT });
        onStop(() => client.close());
        weights = createCatalogWeights(client);
      }
      const carriers = new Map<string, Carrier>();
      for (const c of [createSandboxCarrier({ stepMs: config.SHIPPING_SANDBOX_STEP, clock }), ...(opts.carriers ?? [])]) carriers.set(c.name, c);

      const store = createShippingStore(db);
      const rates = createRateBook({ load: () => store.loadRateTable(), ttlMs: config.SHIPPING_RATES_CACHE, clock });
      const shipments = createShipments({
        store,
        rates,
        carriers,
        weights,
        clock,
        log,
        defaultCarrier: config.SHIPPING_DEFAULT_CARRIER,
        retryMs: config.SHIPPING_CARRIER_RETRY,
        pollMs: config.SHIPPING_CARRIER_POLL,
      });
      server.add(ShippingService, createShippingService({ rates, shipments }));

      // Queues are named after the exchange, so two shops (or test runs) on one broker never share one.
      await subscribeToOrderEvents({ bus, db, queue: queueName(config.AMQP_EXCHANGE, name, "orders"), shipments });
      const job = startTrackingJob({ shipments, intervalMs: config.SHIPPING_TRACKING_INTERVAL, batch: config.SHIPPING_TRACKING_BATCH, log });
      onStop(() => job.stop());
    },
  };
}

export const shippingModule = createShippingModule();
