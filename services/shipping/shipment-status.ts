// The shipment's status rules as plain functions: where a carrier scan or an admin's order moves
// a shipment, and which of ShipmentShipped / ShipmentDelivered that move emits.
//
// Carriers report out of order and repeat themselves, so a scan never moves a shipment out of a
// final state, never on older news than the status it already has (statusTime), and never takes
// a parcel the carrier has back to "not yet picked up". Shipped and delivered are facts that
// happen once (shippedAt, deliveredAt), so their events go out once whatever path led there,
// including a carrier that skips the pickup scan and reports "in transit" first.
import { failedPrecondition } from "../../platform/errors.js";

export const STATUSES = ["pending", "label_created", "shipped", "in_transit", "out_for_delivery", "delivered", "exception", "cancelled"] as const;
export type ShipmentStatus = (typeof STATUSES)[number];

const PROGRESS: readonly ShipmentStatus[] = ["pending", "label_created", "shipped", "in_transit", "out_for_delivery", "delivered"];

export const isFinal = (s: ShipmentStatus): boolean => s === "delivered" || s === "cancelled";

/** The parcel is (or was) in the carrier's hands. */
export const isWithCarrier = (s: ShipmentStatus): boolean => PROGRESS.indexOf(s) >= PROGRESS.indexOf("shipped");

/** Reaching this status needs a label first. */
export const needsLabel = (s: ShipmentStatus): boolean => s !== "pending" && s !== "exception" && s !== "cancelled";

/** The tracking job polls the carrier in these states; exception waits for a human. */
export const isTracked = (s: ShipmentStatus): boolean => !isFinal(s) && s !== "exception";

/** The part of a shipment the rules read. */
export interface StatusState {
  readonly status: ShipmentStatus;
  readonly statusTime: Date;
  readonly shippedAt: Date | undefined;
  readonly deliveredAt: Date | undefined;
}

/** The status after a carrier scan that reports `reported` at `eventTime`. */
export function statusAfterScan(current: StatusState, reported: ShipmentStatus, eventTime: Date): ShipmentStatus {
  if (isFinal(current.status)) return current.status;
  if (eventTime.getTime() < current.statusTime.getTime()) return current.status;
  // Carriers do not cancel orders; cancelling is UpdateShipmentStatus or OrderCancelled.
  if (reported === "cancelled") return current.status;
  if (current.shippedAt && (reported === "pending" || reported === "label_created")) return current.status;
  return reported;
}

/** The status an admin forces, or FAILED_PRECONDITION. Asking for the current status is a no-op. */
export function forcedStatus(current: StatusState, target: ShipmentStatus): ShipmentStatus {
  if (current.status === target) return target;
  if (isFinal(current.status)) throw failedPrecondition(`the shipment is ${current.status}; its status can no longer change`);
  if (current.shippedAt && (target === "cancelled" || target === "pending" || target === "label_created")) {
    throw failedPrecondition(`the parcel is already with the carrier; it cannot become ${target}`);
  }
  return target;
}

export interface Transition extends StatusState {
  /** The parcel reached the carrier with this move: emit ShipmentShipped. */
  readonly shipped: boolean;
  /** The parcel was delivered with this move: emit ShipmentDelivered (after ShipmentShipped). */
  readonly delivered: boolean;
}

/** What applying `next` as of `at` changes. */
export function transition(current: StatusState, next: ShipmentStatus, at: Date): Transition {
  const shipped = current.shippedAt === undefined && isWithCarrier(next);
  const delivered = current.deliveredAt === undefined && next === "delivered";
  const moved = next !== current.status;
  return {
    status: next,
    statusTime: moved || at.getTime() > current.statusTime.getTime() ? at : current.statusTime,
    shippedAt: shipped ? at : current.shippedAt,
    deliveredAt: delivered ? at : current.deliveredAt,
    shipped,
    delivered,
  };
}
