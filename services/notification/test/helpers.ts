// Small named fixtures for the notification service tests: the service on a real port against
// its own real PostgreSQL database and a bus the test publishes to (the platform's memory bus,
// or RabbitMQ), a users service double serving the JWKS that verifies signed-in callers, and
// events built as the order, payment, shipping and users services would publish them.
import { randomUUID } from "node:crypto";
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { OrderStatus } from "../../../gen/shop/order/v1/order_pb.js";
import { OrderPlacedSchema, OrderStatusChangedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { NotificationService } from "../../../gen/shop/notification/v1/notification_pb.js";
import { UserRegisteredSchema } from "../../../gen/shop/users/v1/events_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { createEnvelope, type EventBus, type EventEnvelope } from "../../../platform/events/index.js";
import { createClient, type ServiceClient } from "../../../platform/grpc/index.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { createNotificationModule } from "../module.js";
import { startUsersDouble as startUsersDoubleFor, type UsersDouble } from "../../../platform/testing/grpc-double.js";

export { as, rejectionOf } from "../../../platform/testing/calls.js";
export { freePort } from "../../../platform/testing/ports.js";
export type { UsersDouble } from "../../../platform/testing/grpc-double.js";

export type NotificationClient = ServiceClient<typeof NotificationService>;

export const AUTH = { issuer: "shop-users-notification-test", audience: "shop-notification-test" };

/** The users service as this service sees it: a JWKS, and tokens for AUTH signed with its key. */
export const startUsersDouble = (): Promise<UsersDouble> => startUsersDoubleFor(AUTH);

export interface RunningNotification {
  readonly client: NotificationClient;
  readonly service: RunningService;
  stop(): Promise<void>;
}

export interface NotificationPeers {
  readonly databaseUrl: string;
  readonly users: string;
  /** The bus the service consumes from; unset means AMQP_URL in `env` decides. */
  readonly bus?: EventBus;
}

/** Fast retries and polls, so tests wait for behaviour, not for production pauses. */
export const FAST_RETRIES = { MAIL_RETRY_BASE: "50ms", MAIL_RETRY_MAX: "200ms", MAIL_POLL_INTERVAL: "50ms", SMTP_TIMEOUT: "2s" };

export async function startNotification(peers: NotificationPeers, env: Record<string, string> = {}): Promise<RunningNotification> {
  const service = await startService(
    createNotificationModule(),
    {
      DATABASE_URL: peers.databaseUrl,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      LOG_LEVEL: "error",
      USERS_ADDR: peers.users,
      AUTH_ISSUER: AUTH.issuer,
      AUTH_AUDIENCE: AUTH.audience,
      SHUTDOWN_GRACE: "200ms",
      MAIL_SHOP_NAME: "Test Shop",
      MAIL_FROM: "Test Shop <shop@notification.test>",
      ...FAST_RETRIES,
      ...env,
    },
    peers.bus ? { bus: peers.bus } : {},
  );
  const client = createClient(NotificationService, { name: "notification", address: `127.0.0.1:${service.port}` });
  return {
    client,
    service,
    async stop() {
      client.close();
      await service.stop();
    },
  };
}

/** The service's schema, to look at what it stored. */
export const notificationDb = (databaseUrl: string): Db => createDb({ url: databaseUrl, schema: "notification", applicationName: "notification-test" });

/** An event as its producer's outbox relay would hand it to the bus. */
export const envelope = <D extends DescMessage>(schema: D, message: MessageInitShape<D>, id: string = randomUUID()): EventEnvelope =>
  createEnvelope(schema, message, { id });

export const usd = (amountMinor: bigint) => ({ amountMinor, currencyCode: "USD" });

export function userRegistered(userId: string, email: string, displayName = "Ada"): EventEnvelope {
  return envelope(UserRegisteredSchema, { userId, email, displayName });
}

export function orderPlaced(userId: string, orderId: string = randomUUID()): EventEnvelope {
  return envelope(OrderPlacedSchema, {
    order: {
      id: orderId,
      userId,
      status: OrderStatus.CONFIRMED,
      lines: [{ sku: "SHIRT-M", productName: "Shirt", skuName: "Blue / M", quantity: 2, unitPrice: usd(1999n), lineTotal: usd(3998n) }],
      totals: { subtotal: usd(3998n), discount: usd(0n), shipping: usd(500n), tax: usd(0n), total: usd(4498n) },
      shippingAddress: { recipientName: "Ada Lovelace", line1: "1 Main St", city: "London", postalCode: "N1", countryCode: "GB" },
    },
  });
}

export function statusChanged(userId: string, orderId: string, oldStatus: OrderStatus, newStatus: OrderStatus): EventEnvelope {
  return envelope(OrderStatusChangedSchema, { userId, orderId, oldStatus, newStatus, reason: "test" });
}

export interface LogRow {
  id: string;
  user_id: string;
  template: string;
  status: string;
  attempts: number;
  failure_reason: string;
  to_address: string | null;
}

export async function logRows(db: Db, userId: string): Promise<LogRow[]> {
  const { rows } = await db.query<LogRow & Record<string, unknown>>(
    "SELECT id, user_id, template, status, attempts, failure_reason, to_address FROM notifications WHERE user_id = $1 ORDER BY created_at, id",
    [userId],
  );
  return rows;
}
