// The payment operations, between the thin gRPC handlers (service.ts), the provider adapter and
// the store. Every operation has the same two phases:
//
//   1. record: under the payment's row lock, check the rules (payment-rules.ts) and write down
//      what is about to be asked of the provider (a pending payment, a pending capture or void,
//      a pending refund holding its amount), and commit;
//   2. settle: under the lock again, for each operation still pending, call the provider with
//      the operation's own idempotency key and commit its outcome together with the ledger
//      movement and the event, one provider call per transaction.
//
// A provider call that times out rolls back only phase 2: the operation stays recorded as
// pending, the caller gets UNAVAILABLE, and whichever call touches the payment next (a retry
// with the same key, another operation, or the reconciler) settles it by asking the provider
// again with the same key, which answers about the same operation instead of starting a second.
// Replays wait on the row lock while the first call talks to the provider, so concurrent
// duplicates cost one provider call and one ledger movement.
import { randomUUID } from "node:crypto";
import {
  PaymentAuthorizedSchema,
  PaymentCapturedSchema,
  PaymentFailedSchema,
  PaymentRefundedSchema,
  PaymentVoidedSchema,
} from "../../gen/shop/payment/v1/events_pb.js";
import { failedPrecondition, notFound, permissionDenied, unavailable } from "../../platform/errors.js";
import { remainingMs } from "../../platform/grpc/index.js";
import type { Logger } from "../../platform/logger.js";
import { authorizationMovement, captureMovements, failureMovement, refundMovement, voidMovement } from "./ledger.js";
import type { Money } from "../../platform/money.js";
import {
  assertTransition,
  authorizeConflict,
  planCapture,
  planRefund,
  planVoid,
  refundConflict,
  statusAfterRefund,
  type AuthorizeParams,
} from "./payment-rules.js";
import { declineReason, ProviderError, type AuthorizeResult, type PaymentProvider } from "./providers/provider.js";
import type { PaymentStore, PaymentTx, StoredPayment, StoredRefund } from "./store.js";

export interface PaymentsDeps {
  readonly store: PaymentStore;
  readonly provider: PaymentProvider;
  readonly clock: () => Date;
  readonly log: Logger;
  /** Longest wait for a payment held by another request (its provider call), when the caller set no deadline. */
  readonly lockWaitMs: number;
}

export interface AuthorizeInput extends AuthorizeParams {
  readonly idempotencyKey: string;
}

export interface RefundInput {
  readonly paymentId: string;
  readonly amount: Money | undefined;
  readonly reason: string;
  readonly idempotencyKey: string;
}

export interface Payments {
  authorize(input: AuthorizeInput): Promise<StoredPayment>;
  capture(paymentId: string, amount: Money | undefined): Promise<StoredPayment>;
  void(paymentId: string, reason: string): Promise<StoredPayment>;
  refund(input: RefundInput): Promise<StoredPayment>;
  get(paymentId: string): Promise<StoredPayment>;
  /** Settles whatever is pending on the payment (the reconciler's entry point). */
  settle(paymentId: string): Promise<StoredPayment>;
}

/** The provider-side idempotency key of an operation: ours, stable across retries and restarts. */
export const providerKey = (id: string, op: "authorize" | "capture" | "void" | "refund") => `${id}:${op}`;

/** What a step of settle did: nothing was pending (done), or it settled one operation. */
type Step = { readonly done: StoredPayment } | { readonly settled: true };
const SETTLED: Step = { settled: true };

/** A phase-1 transaction found an earlier operation unsettled: settle and record again. */
const UNSETTLED = Symbol("unsettled");

export function createPayments(deps: PaymentsDeps): Payments {
  const { store, provider, clock, log } = deps;

  const lockWait = () => {
    const left = remainingMs();
    return Number.isFinite(left) ? Math.max(1, Math.min(left, deps.lockWaitMs)) : deps.lockWaitMs;
  };
  const transact = <T>(fn: (tx: PaymentTx) => Promise<T>) => store.transact(fn, lockWait());

  async function lockOrThrow(tx: PaymentTx, id: string): Promise<StoredPayment> {
    const p = await tx.lock(id);
    if (!p) throw notFound("payment", id);
    return p;
  }

  /** Only the adapter that made a payment can move its money (PAYMENT_PROVIDER changed since). */
  function checkProvider(p: StoredPayment): void {
    if (p.provider !== provider.name) throw failedPrecondition(`payment ${p.id} was made through ${p.provider}, but this service runs ${provider.name}`);
  }

  /** What an unknown outcome means for the caller; the operation stays pending. */
  function unknownOutcome(err: ProviderError, op: string, p: StoredPayment): Error {
    const fields = { payment_id: p.id, op, provider: provider.name, kind: err.kind, code: err.code };
    if (err.kind === "misconfigured") log.error("payment provider refused our request; check the provider settings", fields);
    else log.warn("payment provider outcome unknown; the operation stays pending", fields);
    return unavailable(`the payment provider did not answer (${err.kind}); retry the same request to settle it`, err);
  }

  // ---- phase 2: one pending operation settled per transaction ----

  async function settleAuthorization(tx: PaymentTx, p: StoredPayment): Promise<Step> {
    let result: AuthorizeResult;
    /** The provider's own code when it refused the request outright. */
    let refusal: string | undefined;
    try {
      result = await provider.authorize({
        idempotencyKey: providerKey(p.id, "authorize"),
        token: p.paymentMethodToken,
        customerReference: p.customerReference,
        amount: p.amount,
        paymentId: p.id,
        orderId: p.orderId,
      });
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.outcomeUnknown) throw unknownOutcome(err, "authorize", p);
      // The provider refused the request itself (no such token, ...): nothing was held.
      result = { outcome: "declined", reference: "", code: "processing_error" };
      refusal = err.code;
    }
    const now = clock();
    const event = { paymentId: p.id, orderId: p.orderId, userId: p.userId, amount: { amountMinor: p.amount.amountMinor, currencyCode: p.amount.currency } };
    if (result.outcome === "authorized") {
      assertTransition(p.status, "authorized");
      const updated = await tx.update(p.id, { status: "authorized", providerReference: result.reference }, now);
      await tx.record(updated, authorizationMovement(p.amount.amountMinor), { id: randomUUID(), idempotencyKey: p.idempotencyKey, providerReference: result.reference }, now);
      await tx.emit(PaymentAuthorizedSchema, event);
    } else {
      assertTransition(p.status, "failed");
      const reason = declineReason(result.code);
      const code = refusal ?? result.code;
      const updated = await tx.update(p.id, { status: "failed", providerReference: result.reference, failureCode: code, failureReason: reason }, now);
      await tx.record(updated, failureMovement(p.amount.amountMinor), { id: randomUUID(), idempotencyKey: p.idempotencyKey, providerReference: result.reference }, now);
      await tx.emit(PaymentFailedSchema, { ...event, reason });
      log.info("payment declined", { payment_id: p.id, order_id: p.orderId, code });
    }
    return SETTLED;
  }

  async function settleCapture(tx: PaymentTx, p: StoredPayment, amountMinor: bigint): Promise<Step> {
    const key = providerKey(p.id, "capture");
    const amount = { amountMinor, currency: p.amount.currency };
    let reference: string;
    try {
      reference = await provider.capture({ idempotencyKey: key, reference: p.providerReference, amount });
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.outcomeUnknown) throw unknownOutcome(err, "capture", p);
      await tx.update(p.id, { pendingOp: null, pendingAmountMinor: null, rejection: err.message }, clock());
      log.warn("payment provider refused a capture", { payment_id: p.id, code: err.code });
      return SETTLED;
    }
    assertTransition(p.status, "captured");
    const updated = await tx.update(p.id, { status: "captured", capturedMinor: amountMinor, pendingOp: null, pendingAmountMinor: null }, clock());
    for (const movement of captureMovements(p.amount.amountMinor, amountMinor)) {
      await tx.record(updated, movement, { id: randomUUID(), idempotencyKey: key, providerReference: reference }, clock());
    }
    await tx.emit(PaymentCapturedSchema, { paymentId: p.id, orderId: p.orderId, userId: p.userId, amount: { amountMinor, currencyCode: p.amount.currency } });
    return SETTLED;
  }

  async function settleVoid(tx: PaymentTx, p: StoredPayment): Promise<Step> {
    const key = providerKey(p.id, "void");
    try {
      await provider.void({ idempotencyKey: key, reference: p.providerReference });
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.outcomeUnknown) throw unknownOutcome(err, "void", p);
      await tx.update(p.id, { pendingOp: null, rejection: err.message }, clock());
      log.warn("payment provider refused a void", { payment_id: p.id, code: err.code });
      return SETTLED;
    }
    assertTransition(p.status, "voided");
    const updated = await tx.update(p.id, { status: "voided", pendingOp: null }, clock());
    await tx.record(updated, voidMovement(p.amount.amountMinor), { id: randomUUID(), idempotencyKey: key, providerReference: p.providerReference }, clock());
    await tx.emit(PaymentVoidedSchema, { paymentId: p.id, orderId: p.orderId, userId: p.userId, amount: { amountMinor: p.amount.amountMinor, currencyCode: p.amount.currency } });
    return SETTLED;
  }

  async function settleRefund(tx: PaymentTx, p: StoredPayment, r: StoredRefund): Promise<Step> {
    const amount = { amountMinor: r.amountMinor, currency: p.amount.currency };
    let reference: string;
    try {
      reference = await provider.refund({ idempotencyKey: providerKey(r.id, "refund"), reference: p.providerReference, amount, reason: r.reason });
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.outcomeUnknown) throw unknownOutcome(err, "refund", p);
      await tx.settleRefund(r.id, { status: "failed", failureReason: err.message }, clock());
      log.warn("payment provider refused a refund", { payment_id: p.id, refund_id: r.id, code: err.code });
      return SETTLED;
    }
    const refundedMinor = p.refundedMinor + r.amountMinor;
    const status = statusAfterRefund(p.capturedMinor, refundedMinor);
    assertTransition(p.status, status);
    await tx.settleRefund(r.id, { status: "succeeded", providerReference: reference }, clock());
    const updated = await tx.update(p.id, { status, refundedMinor }, clock());
    await tx.record(updated, refundMovement(r.amountMinor), { id: randomUUID(), idempotencyKey: r.idempotencyKey, providerReference: reference }, clock());
    await tx.emit(PaymentRefundedSchema, {
      paymentId: p.id,
      orderId: p.orderId,
      userId: p.userId,
      amount: { amountMinor: r.amountMinor, currencyCode: p.amount.currency },
      refundedTotal: { amountMinor: refundedMinor, currencyCode: p.amount.currency },
    });
    return SETTLED;
  }

  async function settleStep(id: string): Promise<Step> {
    return transact(async (tx) => {
      const p = await lockOrThrow(tx, id);
      let work: (() => Promise<Step>) | undefined;
      if (p.status === "pending") work = () => settleAuthorization(tx, p);
      else if (p.pendingOp === "capture") work = () => settleCapture(tx, p, p.pendingAmountMinor ?? p.amount.amountMinor);
      else if (p.pendingOp === "void") work = () => settleVoid(tx, p);
      else {
        const [refund] = await tx.pendingRefunds(id);
        if (refund) work = () => settleRefund(tx, p, refund);
      }
      if (!work) return { done: p };
      checkProvider(p);
      return work();
    });
  }

  async function settle(id: string): Promise<StoredPayment> {
    for (;;) {
      const step = await settleStep(id);
      if ("done" in step) return step.done;
    }
  }

  /** Phase 1 for capture and void: settle leftovers, then record the operation if the rules allow it. */
  async function recordThenSettle(id: string, record: (tx: PaymentTx, p: StoredPayment) => Promise<void>): Promise<StoredPayment> {
    for (;;) {
      await settle(id);
      const outcome = await transact(async (tx) => {
        const p = await lockOrThrow(tx, id);
        if (p.status === "pending" || p.pendingOp) return UNSETTLED;
        checkProvider(p);
        await record(tx, p);
        return undefined;
      });
      if (outcome !== UNSETTLED) return settle(id);
    }
  }

  return {
    settle,

    async get(paymentId) {
      const p = await store.payment(paymentId);
      if (!p) throw notFound("payment", paymentId);
      return p;
    },

    async authorize(input) {
      let p = await store.paymentByKey(input.idempotencyKey);
      if (!p) {
        const method = await store.method(input.paymentMethodToken);
        // The token is not echoed: error messages are logged.
        if (!method) throw notFound("payment method");
        if (method.userId !== input.userId) throw permissionDenied("the payment method belongs to another customer");
        p =
          (await store.insertPayment(
            {
              id: randomUUID(),
              orderId: input.orderId,
              userId: input.userId,
              idempotencyKey: input.idempotencyKey,
              paymentMethodToken: method.token,
              customerReference: method.customerReference,
              cardBrand: method.brand,
              cardLast4: method.last4,
              provider: provider.name,
              amount: input.amount,
            },
            clock(),
          )) ?? (await store.paymentByKey(input.idempotencyKey));
        if (!p) {
          const live = await store.livePaymentOfOrder(input.orderId);
          throw failedPrecondition(`order ${input.orderId} already has a live payment${live ? ` (${live.id}, ${live.status})` : ""}`);
        }
      }
      const conflict = authorizeConflict(p, input);
      if (conflict) throw conflict;
      return p.status === "pending" ? settle(p.id) : p;
    },

    async capture(paymentId, amount) {
      const p = await recordThenSettle(paymentId, async (tx, p) => {
        const plan = planCapture(p, amount);
        if (plan.kind === "capture") {
          await tx.update(p.id, { pendingOp: "capture", pendingAmountMinor: plan.amountMinor, rejection: "" }, clock());
        }
      });
      if (p.status === "authorized") throw failedPrecondition(`the payment provider refused the capture: ${p.rejection}`);
      return p;
    },

    async void(paymentId, reason) {
      const p = await recordThenSettle(paymentId, async (tx, p) => {
        if (planVoid(p).kind === "void") await tx.update(p.id, { pendingOp: "void", voidReason: reason, rejection: "" }, clock());
      });
      if (p.status === "authorized") throw failedPrecondition(`the payment provider refused the void: ${p.rejection}`);
      return p;
    },

    async refund(input) {
      let refundId: string | undefined;
      while (refundId === undefined) {
        await settle(input.paymentId);
        const recorded = await transact(async (tx) => {
          const p = await lockOrThrow(tx, input.paymentId);
          // Looked up under the payment's lock: two requests with one key serialize here.
          const existing = await tx.refundByKey(input.idempotencyKey);
          if (existing) {
            const stored = { paymentId: existing.paymentId, requested: existing.requestedMinor === undefined ? undefined : { amountMinor: existing.requestedMinor, currency: p.amount.currency } };
            const conflict = refundConflict(stored, { paymentId: input.paymentId, requested: input.amount });
            if (conflict) throw conflict;
            return existing.id;
          }
          if (p.status === "pending" || p.pendingOp) return UNSETTLED;
          checkProvider(p);
          const reserved = (await tx.pendingRefunds(p.id)).reduce((sum, r) => sum + r.amountMinor, 0n);
          const amountMinor = planRefund(p, reserved, input.amount);
          const id = randomUUID();
          const fresh = { id, paymentId: p.id, idempotencyKey: input.idempotencyKey, requestedMinor: input.amount?.amountMinor, amountMinor, reason: input.reason };
          // Taken meanwhile by a refund of another payment (which holds another lock).
          if (!(await tx.insertRefund(fresh, clock()))) return UNSETTLED;
          return id;
        });
        if (recorded !== UNSETTLED) refundId = recorded;
      }
      const p = await settle(input.paymentId);
      const refund = await store.refund(refundId);
      if (refund?.status === "failed") throw failedPrecondition(`the payment provider refused the refund: ${refund.failureReason}`);
      return p;
    },
  };
}
