// What the checkout counts (platform/metrics): each checkout step's outcome, then the order
// placed with its revenue, or the checkout failed with a fixed reason word (never free text:
// every distinct label value is a series of its own). Cancellations and refunds are not
// checkouts and are not counted here.
import { Code } from "../../platform/errors.js";
import { recordCheckoutStep, recordOrderFailed, recordOrderPlaced, type CheckoutStep } from "../../platform/metrics/index.js";
import type { StoredOrder } from "./order-model.js";
import type { CHECKOUT_STEPS, StepName } from "./saga-plan.js";

/** The funnel's name for each forward step of the checkout. */
const funnelStep: Record<(typeof CHECKOUT_STEPS)[number], CheckoutStep> = {
  reserve_stock: "reserved",
  authorize_payment: "authorized",
  redeem_promotions: "redeemed",
  capture_payment: "captured",
  commit_stock: "committed",
};

/** Why a checkout failed, by the step that failed it. */
const failureReason: Partial<Record<StepName, string>> = {
  reserve_stock: "out_of_stock",
  authorize_payment: "payment_declined",
  redeem_promotions: "promotion_unavailable",
  capture_payment: "capture_failed",
  commit_stock: "commit_failed",
};

/** A step of `o`'s saga ended for good: done (`ok`), or failed (forward) / refused (compensation). */
export function countStep(o: StoredOrder, step: StepName, ok: boolean): void {
  if (o.saga.kind !== "checkout") return;
  const forward = funnelStep[step as keyof typeof funnelStep] as CheckoutStep | undefined;
  if (o.saga.phase === "forward" && forward) recordCheckoutStep(forward, ok ? "ok" : "failed");
  else if (o.saga.phase === "compensate" && !ok) recordCheckoutStep("compensated", "failed");
}

/** The checkout's last transaction committed: confirmed, or failed and compensated. */
export function countFinished(o: StoredOrder): void {
  if (o.saga.kind !== "checkout") return;
  if (o.saga.phase === "forward") {
    recordCheckoutStep("confirmed", "ok");
    recordOrderPlaced({ currency: o.currency, amountMinor: o.totals.totalMinor });
    return;
  }
  recordCheckoutStep("compensated", "ok");
  recordOrderFailed(o.saga.failureCode === Code.DEADLINE_EXCEEDED ? "timeout" : (failureReason[o.saga.failedStep as StepName] ?? "other"));
}

/** PlaceOrder recorded the priced order (`ok`), or refused to price it for good (a coupon, the expected total, shipping...). */
export function countPriced(ok: boolean): void {
  recordCheckoutStep("priced", ok ? "ok" : "failed");
  if (!ok) recordOrderFailed("not_priced");
}
