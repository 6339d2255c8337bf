// The order saga's port to the payment service. Authorize, capture and refund carry keys
// derived from the order id (`<order id>:authorize`, `<order id>:refund`), so a resumed saga
// reuses them and the payment service never moves money twice for one order. A decline is
// not an error here: the payment comes back `failed` with a reason the shopper may see.
import { PaymentService, PaymentStatus, type Payment } from "../../gen/shop/payment/v1/payment_pb.js";
import type { ServiceClient } from "../../platform/grpc/index.js";
import { toProtoMoney, type Money } from "../../platform/money.js";

/** `unsettled`: the provider's answer is not known yet; asking again with the same key resolves it. */
export type PaymentState = "authorized" | "captured" | "partially_refunded" | "refunded" | "voided" | "failed" | "unsettled";

export interface PaymentView {
  readonly id: string;
  readonly state: PaymentState;
  /** Safe to show the shopper; set when `failed`. */
  readonly failureReason: string;
  readonly refundedMinor: bigint;
}

export interface AuthorizeInput {
  readonly orderId: string;
  readonly userId: string;
  readonly amount: Money;
  readonly paymentMethodToken: string;
  readonly idempotencyKey: string;
}

export interface Payments {
  /** Also the way to look the order's payment up again: the same key returns the same payment. */
  authorize(input: AuthorizeInput): Promise<PaymentView>;
  capture(paymentId: string): Promise<PaymentView>;
  void(paymentId: string, reason: string): Promise<PaymentView>;
  /** Everything not yet refunded. */
  refund(paymentId: string, reason: string, idempotencyKey: string): Promise<PaymentView>;
}

export type PaymentClient = ServiceClient<typeof PaymentService>;

const states: Partial<Record<PaymentStatus, PaymentState>> = {
  [PaymentStatus.AUTHORIZED]: "authorized",
  [PaymentStatus.CAPTURED]: "captured",
  [PaymentStatus.PARTIALLY_REFUNDED]: "partially_refunded",
  [PaymentStatus.REFUNDED]: "refunded",
  [PaymentStatus.VOIDED]: "voided",
  [PaymentStatus.FAILED]: "failed",
};

function view(p: Payment | undefined): PaymentView {
  if (!p) throw new Error("payment service answered without a payment");
  return { id: p.id, state: states[p.status] ?? "unsettled", failureReason: p.failureReason, refundedMinor: p.refundedAmount?.amountMinor ?? 0n };
}

export function createGrpcPayments(client: PaymentClient): Payments {
  return {
    authorize: async (i) =>
      view(
        (
          await client.authorizePayment({
            orderId: i.orderId,
            userId: i.userId,
            amount: toProtoMoney(i.amount),
            paymentMethodToken: i.paymentMethodToken,
            idempotencyKey: i.idempotencyKey,
          })
        ).payment,
      ),
    capture: async (paymentId) => view((await client.capturePayment({ paymentId })).payment),
    void: async (paymentId, reason) => view((await client.voidPayment({ paymentId, reason })).payment),
    refund: async (paymentId, reason, idempotencyKey) => view((await client.refundPayment({ paymentId, reason, idempotencyKey })).payment),
  };
}

export { PaymentService };
