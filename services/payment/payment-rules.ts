// The payment's state machine and the checks an operation makes before anything is recorded,
// as plain functions over the stored numbers (tested in memory by test/rules.test.ts).
//
//   pending ──> authorized ──> captured ──> partially_refunded ──> refunded
//      │            │              └───────────────────────────────────^
//      └─> failed   └─> voided
//
// `pending` means the authorization is recorded and the provider's answer is not known yet.
// A capture or void in flight is not a status: it is the payment's `pendingOp`, and the
// payment stays `authorized` until the provider answers.
import { Code, ShopError, failedPrecondition, fieldError } from "../../platform/errors.js";
import { formatMoney, type Money } from "../../platform/money.js";

export type PaymentStatus = "pending" | "authorized" | "captured" | "partially_refunded" | "refunded" | "voided" | "failed";

const transitions: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  pending: ["authorized", "failed"],
  authorized: ["captured", "voided"],
  captured: ["partially_refunded", "refunded"],
  partially_refunded: ["partially_refunded", "refunded"],
  refunded: [],
  voided: [],
  failed: [],
};

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return transitions[from].includes(to);
}

/** Throws unless `from -> to` is a transition of the state machine (a bug, not a caller error). */
export function assertTransition(from: PaymentStatus, to: PaymentStatus): void {
  if (!canTransition(from, to)) throw new Error(`payment cannot go from ${from} to ${to}`);
}

/** The numbers every rule looks at. */
export interface PaymentFigures {
  readonly status: PaymentStatus;
  /** The authorized amount and the payment's currency. */
  readonly amount: Money;
  readonly capturedMinor: bigint;
  readonly refundedMinor: bigint;
}

/** A FAILED_PRECONDITION that names the request field it is about. */
function stateError(field: string, description: string): ShopError {
  return new ShopError(Code.FAILED_PRECONDITION, `${field}: ${description}`, [{ field, description }]);
}

/** The same idempotency key came with different parameters: ALREADY_EXISTS naming what differs. */
export function idempotencyConflict(field: string, what: string): ShopError {
  const description = `already used for a request with a different ${what}`;
  return new ShopError(Code.ALREADY_EXISTS, `idempotency_key: ${description}`, [{ field, description }]);
}

function checkCurrency(requested: Money, payment: PaymentFigures): void {
  if (requested.currency !== payment.amount.currency) {
    throw fieldError("amount.currency_code", `must be the payment's currency ${payment.amount.currency}`);
  }
}

export type CapturePlan = { readonly kind: "noop" } | { readonly kind: "capture"; readonly amountMinor: bigint };

/**
 * Capture all (requested undefined) or part of the authorization. Capturing a captured payment
 * again is a no-op if it asks for what was captured (or for "all"), and refused otherwise.
 */
export function planCapture(p: PaymentFigures, requested: Money | undefined): CapturePlan {
  if (requested) checkCurrency(requested, p);
  switch (p.status) {
    case "captured":
    case "partially_refunded":
    case "refunded":
      if (requested === undefined || requested.amountMinor === p.capturedMinor) return { kind: "noop" };
      throw stateError("amount", `the payment was already captured for ${formatMoney({ amountMinor: p.capturedMinor, currency: p.amount.currency })}`);
    case "authorized": {
      const amountMinor = requested?.amountMinor ?? p.amount.amountMinor;
      if (amountMinor > p.amount.amountMinor) throw stateError("amount", `exceeds the authorized ${formatMoney(p.amount)}`);
      return { kind: "capture", amountMinor };
    }
    case "voided":
      throw failedPrecondition("the payment was voided; nothing to capture");
    case "failed":
      throw failedPrecondition("the payment failed at authorization; nothing to capture");
    case "pending":
      throw failedPrecondition("the authorization is not resolved yet");
  }
}

export type VoidPlan = { readonly kind: "noop" } | { readonly kind: "void" };

export function planVoid(p: PaymentFigures): VoidPlan {
  switch (p.status) {
    case "authorized":
      return { kind: "void" };
    case "voided":
      return { kind: "noop" };
    case "captured":
    case "partially_refunded":
    case "refunded":
      throw failedPrecondition("the payment was captured: refund it instead");
    case "failed":
      throw failedPrecondition("the payment failed at authorization; nothing to void");
    case "pending":
      throw failedPrecondition("the authorization is not resolved yet");
  }
}

/**
 * How much a new refund returns: the requested amount, or everything not yet refunded.
 * `reservedMinor` is what refunds still waiting for the provider hold, so that concurrent
 * refunds can never add up to more than was captured.
 */
export function planRefund(p: PaymentFigures, reservedMinor: bigint, requested: Money | undefined): bigint {
  if (requested) checkCurrency(requested, p);
  if (p.status !== "captured" && p.status !== "partially_refunded" && p.status !== "refunded") {
    throw failedPrecondition(`the payment is ${p.status.replace("_", " ")}, not captured: nothing to refund`);
  }
  const left = p.capturedMinor - p.refundedMinor - reservedMinor;
  const leftMoney = formatMoney({ amountMinor: left, currency: p.amount.currency });
  if (left <= 0n) throw stateError("amount", "nothing is left to refund");
  const amountMinor = requested?.amountMinor ?? left;
  if (amountMinor > left) throw stateError("amount", `exceeds what is left to refund (${leftMoney})`);
  return amountMinor;
}

export function statusAfterRefund(capturedMinor: bigint, refundedMinor: bigint): PaymentStatus {
  return refundedMinor >= capturedMinor ? "refunded" : "partially_refunded";
}

/** What AuthorizePayment stored under a key, and what a replay must match. */
export interface AuthorizeParams {
  readonly orderId: string;
  readonly userId: string;
  readonly amount: Money;
  readonly paymentMethodToken: string;
}

/** The first parameter of `replay` that differs from `stored`, as an idempotencyConflict; undefined if the replay matches. */
export function authorizeConflict(stored: AuthorizeParams, replay: AuthorizeParams): ShopError | undefined {
  if (stored.orderId !== replay.orderId) return idempotencyConflict("order_id", "order_id");
  if (stored.userId !== replay.userId) return idempotencyConflict("user_id", "user_id");
  if (stored.amount.currency !== replay.amount.currency) return idempotencyConflict("amount.currency_code", "currency");
  if (stored.amount.amountMinor !== replay.amount.amountMinor) return idempotencyConflict("amount", "amount");
  if (stored.paymentMethodToken !== replay.paymentMethodToken) return idempotencyConflict("payment_method_token", "payment method");
  return undefined;
}

/** What RefundPayment stored under a key, and what a replay must match. */
export interface RefundParams {
  readonly paymentId: string;
  /** As requested; undefined means "the rest". */
  readonly requested: Money | undefined;
}

export function refundConflict(stored: RefundParams, replay: RefundParams): ShopError | undefined {
  if (stored.paymentId !== replay.paymentId) return idempotencyConflict("payment_id", "payment_id");
  const a = stored.requested;
  const b = replay.requested;
  if ((a === undefined) !== (b === undefined) || (a && b && (a.amountMinor !== b.amountMinor || a.currency !== b.currency))) {
    return idempotencyConflict("amount", "amount");
  }
  return undefined;
}
