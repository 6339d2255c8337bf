// The order lifecycle after checkout: reading (own orders only), customer cancellation and
// returns, admin status changes and the shipping service's events. Each status change is one
// transaction on the locked order (status, history, OrderStatusChanged and the specific
// event); one that needs peers afterwards (a cancellation's releases and refund, a refund)
// hands the order to a saga of its own in that same transaction, so it survives a crash.
import { OrderDeliveredSchema, OrderShippedSchema, ReturnRequestedSchema } from "../../gen/shop/order/v1/events_pb.js";
import { failedPrecondition, notFound } from "../../platform/errors.js";
import { remainingMs } from "../../platform/grpc/index.js";
import type { Logger } from "../../platform/logger.js";
import type { StoredOrder } from "./order-model.js";
import { toProtoLine } from "./order-proto.js";
import type { SagaRunner } from "./saga.js";
import type { PageKey } from "../../platform/page-token.js";
import type { OrderStore, OrderTx } from "./store.js";
import { decide, type Actor, type OrderStatus } from "./transitions.js";

export interface Viewer {
  readonly userId: string;
  /** Admins read any order. */
  readonly admin: boolean;
}

export interface ShipmentEvent {
  readonly to: "fulfilling" | "shipped" | "delivered";
  readonly orderId: string;
  readonly shipmentId: string;
  readonly carrier?: string;
  readonly trackingNumber?: string;
}

export interface Orders {
  get(viewer: Viewer, orderId: string): Promise<StoredOrder>;
  list(filter: { userId?: string; status?: OrderStatus; after?: PageKey; limit: number }): Promise<StoredOrder[]>;
  /** By the customer (own orders) or, with `admin`, anyone's. */
  changeStatus(actor: "customer" | "admin", userId: string | undefined, orderId: string, to: OrderStatus, reason: string): Promise<StoredOrder>;
  /** Inside the consumer's inbox transaction. */
  applyShipmentEvent(tx: OrderTx, event: ShipmentEvent): Promise<void>;
}

export interface OrdersOptions {
  readonly store: OrderStore;
  readonly runner: SagaRunner;
  readonly clock: () => Date;
  readonly owner: string;
  readonly leaseMs: number;
  readonly sagaDeadlineMs: number;
  /** How long a cancel or refund call waits for its saga when the caller set no deadline. */
  readonly waitMs: number;
  readonly log: Logger;
}

const POLL_MS = 50;
/** Leave the caller this much of its deadline to receive the answer. */
const ANSWER_MARGIN_MS = 250;

/** The extra event a status announces beyond OrderStatusChanged (shipping's come with carrier data). */
async function emitFor(tx: OrderTx, o: StoredOrder, to: OrderStatus, reason: string): Promise<void> {
  if (to === "return_requested") await tx.emit(ReturnRequestedSchema, { orderId: o.id, userId: o.userId, reason });
  if (to === "delivered") await tx.emit(OrderDeliveredSchema, { orderId: o.id, userId: o.userId, lines: o.lines.map((l) => toProtoLine(l, o.currency)) });
}

export function createOrders(opts: OrdersOptions): Orders {
  const { store, runner, clock, log } = opts;

  async function waitForSaga(orderId: string): Promise<StoredOrder | undefined> {
    const left = remainingMs();
    const until = Date.now() + Math.max(0, Number.isFinite(left) ? Math.min(left - ANSWER_MARGIN_MS, opts.waitMs * 10) : opts.waitMs);
    let o = await store.get(orderId);
    while (o && !o.saga.done && Date.now() < until) {
      const local = runner.running(orderId);
      const wait = new Promise<void>((r) => setTimeout(r, POLL_MS * 4));
      await (local ? Promise.race([local, wait]) : wait);
      o = await store.get(orderId);
    }
    return o;
  }

  return {
    async get(viewer, orderId) {
      const o = await store.get(orderId);
      // Another user's order does not exist, as far as this caller can tell.
      if (!o || (!viewer.admin && o.userId !== viewer.userId)) throw notFound("order", orderId);
      return o;
    },

    list: (filter) => store.list(filter),

    async changeStatus(actor: Actor & ("customer" | "admin"), userId, orderId, to, reason) {
      const now = clock();
      const { order, followUp } = await store.tx(async (tx) => {
        const o = await tx.lock(orderId);
        if (!o || (userId !== undefined && o.userId !== userId)) throw notFound("order", orderId);
        const d = decide(o.status, to, actor);
        if (d.kind === "refuse") throw failedPrecondition(d.message);
        if (d.kind !== "change") return { order: o, followUp: "none" as const };
        const changed = await tx.changeStatus(o, to, reason, now);
        await emitFor(tx, changed, to, reason);
        if (d.followUp !== "none") await tx.startSaga(o.id, d.followUp, opts.owner, opts.leaseMs, new Date(now.getTime() + opts.sagaDeadlineMs));
        return { order: changed, followUp: d.followUp };
      });
      if (followUp === "none") return order;
      log.info("order status changed; saga started", { order_id: orderId, status: to, saga: followUp });
      void runner.drive(orderId);
      return (await waitForSaga(orderId)) ?? order;
    },

    async applyShipmentEvent(tx, e) {
      const o = await tx.lock(e.orderId);
      if (!o) {
        log.warn("shipment event for an unknown order; ignored", { order_id: e.orderId, shipment_id: e.shipmentId });
        return;
      }
      if (e.shipmentId && o.shipmentId !== e.shipmentId) await tx.setShipment(o.id, e.shipmentId);
      const d = decide(o.status, e.to, "shipping");
      if (d.kind !== "change") {
        if (d.kind === "ignore" && !["fulfilling", "shipped", "delivered", "return_requested", "returned", "refunded"].includes(o.status)) {
          log.warn("shipment event does not apply to the order; ignored", { order_id: o.id, status: o.status, event: e.to });
        }
        return;
      }
      const reason = e.to === "shipped" && e.carrier ? `shipped with ${e.carrier}${e.trackingNumber ? `, tracking ${e.trackingNumber}` : ""}` : "";
      const changed = await tx.changeStatus({ ...o, shipmentId: e.shipmentId || o.shipmentId }, e.to, reason, clock());
      if (e.to === "shipped") {
        await tx.emit(OrderShippedSchema, { orderId: o.id, userId: o.userId, shipmentId: e.shipmentId, carrier: e.carrier ?? "", trackingNumber: e.trackingNumber ?? "" });
      }
      await emitFor(tx, changed, e.to, reason);
    },
  };
}
