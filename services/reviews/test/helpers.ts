// Small named fixtures for the reviews service tests against a real MongoDB (MONGO_URL): the
// service on a real port with a database of its own, the platform's users double (so callers go
// through real token verification), the in-process bus shared with the test, order events built
// like the order service's, and readers for what the service stored.
import { randomUUID } from "node:crypto";
import { OrderDeliveredSchema, OrderRefundedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { ReviewsService } from "../../../gen/shop/reviews/v1/reviews_pb.js";
import { createEnvelope, createMemoryEventBus, type EventBus, type EventEnvelope } from "../../../platform/events/index.js";
import { createClient, type ServiceClient } from "../../../platform/grpc/index.js";
import { createLogger } from "../../../platform/logger.js";
import { connectMongo, type Mongo } from "../../../platform/mongo/index.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { startUsersDouble as startUsersDoubleFor, type UsersDouble } from "../../../platform/testing/grpc-double.js";
import { createTestMongoDatabase, type TestMongoDatabase } from "../../../platform/testing/mongo.js";
import { createReviewsModule } from "../module.js";

export { as, rejectionOf } from "../../../platform/testing/calls.js";

export type ReviewsClient = ServiceClient<typeof ReviewsService>;

export const AUTH = { issuer: "shop-users-reviews-test", audience: "shop-reviews-test" };

export const startUsersDouble = (): Promise<UsersDouble> => startUsersDoubleFor(AUTH);

export interface RunningReviews {
  readonly client: ReviewsClient;
  readonly service: RunningService;
  readonly bus: EventBus;
  /** The service's database, to look at what it stored. */
  readonly mongo: Mongo;
  readonly database: TestMongoDatabase;
  stop(): Promise<void>;
}

/** The reviews service on a real port, on a fresh database of the MONGO_URL server. */
export async function startReviews(mongoUrl: string, users: UsersDouble): Promise<RunningReviews> {
  const database = createTestMongoDatabase(mongoUrl, "reviews");
  const log = createLogger({ service: "reviews-test", level: "error" });
  const bus = createMemoryEventBus({ logger: log });
  const service = await startService(
    createReviewsModule(),
    {
      MONGODB_URL: database.url,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      LOG_LEVEL: process.env["REVIEWS_TEST_LOG"] ?? "error",
      USERS_ADDR: users.address,
      AUTH_ISSUER: AUTH.issuer,
      AUTH_AUDIENCE: AUTH.audience,
    },
    { bus },
  );
  const client = createClient(ReviewsService, { service: "test", name: "reviews", address: `127.0.0.1:${service.port}` });
  const mongo = await connectMongo({ url: database.url, defaultDb: database.name, appName: "reviews-test", log });
  return {
    client,
    service,
    bus,
    mongo,
    database,
    async stop() {
      client.close();
      await service.stop();
      await bus.close();
      await mongo.close();
      await database.drop();
    },
  };
}

/** An OrderDelivered as the order service publishes it. */
export function orderDelivered(userId: string, productIds: readonly string[], orderId: string = randomUUID()): EventEnvelope {
  return createEnvelope(OrderDeliveredSchema, { orderId, userId, lines: productIds.map((productId) => ({ productId, sku: `SKU-${productId.slice(0, 4)}`, quantity: 1 })) });
}

export function orderRefunded(userId: string, orderId: string): EventEnvelope {
  return createEnvelope(OrderRefundedSchema, { orderId, userId, paymentId: randomUUID() });
}

/** Types of the events in the service's outbox, oldest first, and whether each went out. */
export async function outboxTypes(mongo: Mongo): Promise<{ type: string; published: boolean }[]> {
  const docs = await mongo.db.collection<{ type: string; published: boolean; createdAt: Date }>("outbox").find({}, { sort: { createdAt: 1 } }).toArray();
  return docs.map((d) => ({ type: d.type, published: d.published }));
}
