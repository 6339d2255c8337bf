// NotificationService handlers: proto in, domain call, proto out. Every RPC is USER level
// (enforced by the platform from the contract) and acts on the caller's id from the verified
// token, so a caller only ever sees their own preferences, log and orders' updates.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Channel,
  DeliveryStatus,
  NotificationService,
  type NotificationSchema,
  type Preferences as ProtoPreferences,
  type WatchOrderUpdatesResponseSchema,
} from "../../gen/shop/notification/v1/notification_pb.js";
import { permissionDenied } from "../../platform/errors.js";
import { requireCaller, type CallContext, type ServiceImpl } from "../../platform/grpc/index.js";
import type { LiveItem, LiveUpdates } from "./live-updates.js";
import type { Notifications } from "./notifications.js";
import type { Preferences } from "./preferences.js";
import type { NotificationRecord } from "./store.js";

export { NotificationService };

export interface NotificationServiceDeps {
  readonly notifications: Notifications;
  readonly live: LiveUpdates;
}

const channels = { email: Channel.EMAIL, live: Channel.LIVE } as const;
const statuses = { queued: DeliveryStatus.QUEUED, sent: DeliveryStatus.SENT, failed: DeliveryStatus.FAILED, skipped: DeliveryStatus.SKIPPED } as const;

const notificationProto = (n: NotificationRecord): MessageInitShape<typeof NotificationSchema> => ({
  id: n.id,
  channel: channels[n.channel],
  template: n.template,
  subject: n.subject,
  status: statuses[n.status],
  orderId: n.orderId ?? "",
  failureReason: n.failureReason,
  createTime: timestampFromDate(n.createdAt),
  ...(n.sentAt ? { sendTime: timestampFromDate(n.sentAt) } : {}),
  attempts: n.attempts,
});

const preferencesProto = (p: Preferences) => ({ orderUpdatesEmail: p.orderUpdatesEmail, marketingEmail: p.marketingEmail, liveOrderUpdates: p.liveOrderUpdates });

/** `required` in the contract, so validation has already ensured it is set. */
const preferencesInput = (p: ProtoPreferences | undefined): Preferences => ({
  orderUpdatesEmail: p!.orderUpdatesEmail,
  marketingEmail: p!.marketingEmail,
  liveOrderUpdates: p!.liveOrderUpdates,
});

const updateProto = (item: LiveItem): MessageInitShape<typeof WatchOrderUpdatesResponseSchema> =>
  item === "heartbeat"
    ? {}
    : { orderId: item.orderId, oldStatus: item.oldStatus, newStatus: item.newStatus, reason: item.reason, changeTime: timestampFromDate(item.changeTime) };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The caller's user id. Users are UUIDs; another principal (a service) has no mail or orders here. */
function me(ctx: CallContext): string {
  const { subject } = requireCaller(ctx);
  if (!UUID.test(subject)) throw permissionDenied("only shop users have notifications");
  return subject;
}

export function createNotificationService({ notifications, live }: NotificationServiceDeps): ServiceImpl<typeof NotificationService> {
  return {
    async getPreferences(_req, ctx) {
      return { preferences: preferencesProto(await notifications.preferences(me(ctx))) };
    },
    async updatePreferences(req, ctx) {
      return { preferences: preferencesProto(await notifications.updatePreferences(me(ctx), preferencesInput(req.preferences))) };
    },
    async listNotifications(req, ctx) {
      const page = await notifications.list(me(ctx), req);
      return { notifications: page.notifications.map(notificationProto), nextPageToken: page.nextPageToken };
    },
    async *watchOrderUpdates(req, ctx) {
      for await (const item of live.watch(me(ctx), req.orderId || undefined, ctx.signal)) yield updateProto(item);
    },
  };
}
