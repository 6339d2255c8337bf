// The order lifecycle as a pure state machine: who may move an order from which status to
// which, and what must follow the move (a refund, a cancellation's compensation).
//
//   PENDING --saga--> CONFIRMED | FAILED
//   CONFIRMED --> FULFILLING --> SHIPPED --> DELIVERED --customer--> RETURN_REQUESTED
//   RETURN_REQUESTED --admin--> RETURNED --admin--> REFUNDED (refunds the payment)
//   CONFIRMED | FULFILLING --customer or admin--> CANCELLED (releases, refunds in full)
//
// Shipping events only ever move an order forward along CONFIRMED..DELIVERED (they may arrive
// late or out of order, so an event behind the order's status is ignored, not an error).

export const ORDER_STATUSES = [
  "pending",
  "confirmed",
  "fulfilling",
  "shipped",
  "delivered",
  "cancelled",
  "return_requested",
  "returned",
  "refunded",
  "failed",
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

export type Actor = "saga" | "customer" | "admin" | "shipping";

/** Work that must follow the status change, durably (a saga of its own). */
export type FollowUp = "none" | "cancel" | "refund";

export type Decision =
  | { readonly kind: "change"; readonly followUp: FollowUp }
  /** Already there: the request is a harmless repeat. */
  | { readonly kind: "noop" }
  /** Not applicable any more (a late shipping event): drop it quietly. */
  | { readonly kind: "ignore" }
  | { readonly kind: "refuse"; readonly message: string };

const change = (followUp: FollowUp = "none"): Decision => ({ kind: "change", followUp });
const refuse = (message: string): Decision => ({ kind: "refuse", message });
const NOOP: Decision = { kind: "noop" };
const IGNORE: Decision = { kind: "ignore" };

/** Before the parcel left: the customer may still cancel. */
const cancellable: ReadonlySet<OrderStatus> = new Set(["confirmed", "fulfilling"]);

/** The fulfilment path that shipping events walk, in order. */
const fulfilmentRank: Partial<Record<OrderStatus, number>> = { confirmed: 1, fulfilling: 2, shipped: 3, delivered: 4 };

/** Where an admin may move an order to, from which statuses. */
const adminMoves: Partial<Record<OrderStatus, { from: readonly OrderStatus[]; followUp?: FollowUp }>> = {
  fulfilling: { from: ["confirmed"] },
  shipped: { from: ["confirmed", "fulfilling"] },
  delivered: { from: ["confirmed", "fulfilling", "shipped"] },
  cancelled: { from: ["confirmed", "fulfilling"], followUp: "cancel" },
  // A parcel may come back without the customer having asked through us.
  returned: { from: ["delivered", "return_requested"] },
  refunded: { from: ["returned"], followUp: "refund" },
};

const cancelRefusal = (from: OrderStatus): string => {
  if (from === "pending") return "the order is still being placed; cancel it once it is confirmed";
  if (from === "failed") return "the order failed at checkout; there is nothing to cancel";
  return `the order is ${label(from)}: it can no longer be cancelled`;
};

export function decide(from: OrderStatus, to: OrderStatus, actor: Actor): Decision {
  if (actor === "shipping") {
    const a = fulfilmentRank[from];
    const b = fulfilmentRank[to];
    if (a === undefined || b === undefined || b <= a) return IGNORE;
    return change();
  }
  if (from === to) return NOOP;
  switch (actor) {
    case "saga":
      return from === "pending" && (to === "confirmed" || to === "failed") ? change() : refuse(`checkout cannot move a ${label(from)} order`);
    case "customer":
      if (to === "cancelled") return cancellable.has(from) ? change("cancel") : refuse(cancelRefusal(from));
      if (to === "return_requested") return from === "delivered" ? change() : refuse(`only a delivered order can be returned; this one is ${label(from)}`);
      return refuse(`a customer cannot move an order to ${label(to)}`);
    case "admin": {
      const move = adminMoves[to];
      if (!move) return refuse(`${label(to)} is set by ${to === "return_requested" ? "the customer" : "checkout"}, not by an admin`);
      if (!move.from.includes(from)) return refuse(`cannot move a ${label(from)} order to ${label(to)}`);
      return change(move.followUp);
    }
  }
}

/** Whether the order has reached a state no checkout step will change again. */
export function checkoutSettled(status: OrderStatus): boolean {
  return status !== "pending";
}

export const label = (s: OrderStatus): string => s.replace("_", " ");
