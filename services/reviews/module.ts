// The reviews service as the platform runs it: on MongoDB (`storage: "own"`), so setup opens
// the client, prepares the indexes, runs the platform's outbox relay over the Mongo outbox,
// subscribes to order events with the Mongo inbox, and reports MongoDB in readiness. Callers'
// tokens are verified by the platform against the users service's JWKS (USERS_ADDR).
import { createOutboxRelay, queueName } from "../../platform/events/index.js";
import { watchOutbox } from "../../platform/metrics/index.js";
import { connectMongo, createMongoOutboxSource } from "../../platform/mongo/index.js";
import type { ServiceModule } from "../../platform/service.js";
import { reviewsConfig } from "./config.js";
import { subscribeToOrderEvents } from "./order-events.js";
import { createReviews } from "./reviews.js";
import { createReviewsService, ReviewsService } from "./service.js";
import { createReviewsStore } from "./store.js";

export interface ReviewsModuleOptions {
  /** The service's notion of now (review times). Tests move it. */
  readonly clock?: () => Date;
}

/** Why the single-process shop runs without reviews: there is no embedded MongoDB. */
export const REVIEWS_OFF_REASON = "MONGODB_URL is unset, and reviews keeps its data in MongoDB, which has no embedded stand-in";

export function createReviewsModule(opts: ReviewsModuleOptions = {}): ServiceModule<typeof reviewsConfig, "own"> {
  return {
    name: "reviews",
    defaultPort: 50060,
    config: reviewsConfig,
    storage: "own",
    offReason: (env) => (env["MONGODB_URL"] ? undefined : REVIEWS_OFF_REASON),
    async setup({ config, log, bus, server, onStop, name }) {
      const mongo = await connectMongo({ url: config.MONGODB_URL, defaultDb: name, appName: name, log, serverSelectionTimeoutMs: config.MONGODB_TIMEOUT });
      onStop(() => mongo.close());
      const store = createReviewsStore(mongo);
      await store.prepare();

      const relay = createOutboxRelay({ source: createMongoOutboxSource(mongo, { log }), publisher: bus, logger: log, service: name });
      await relay.start();
      onStop(() => relay.stop());
      onStop(watchOutbox(name, () => relay.stats()));

      server.add(ReviewsService, createReviewsService({ reviews: createReviews({ store, ...(opts.clock ? { clock: opts.clock } : {}) }) }));
      await subscribeToOrderEvents({ bus, mongo, store, queue: queueName(config.AMQP_EXCHANGE, name, "orders") });
      return { readiness: [{ name: "mongodb", check: () => mongo.ping() }] };
    },
  };
}

export const reviewsModule = createReviewsModule();
