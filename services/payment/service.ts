// PaymentService's gRPC handlers: proto in, domain call, proto out. Access levels come from
// the contract and are enforced by the platform before a handler runs: the payment-method RPCs
// act for the caller named by the verified token (never an id from the request); authorize,
// capture, void and refund are internal (the order saga) and take explicit ids; GetPayment and
// ListLedgerEntries need the admin role.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  LedgerEntryKind,
  PaymentService,
  PaymentStatus,
  type LedgerEntrySchema,
  type PaymentMethodSchema,
  type PaymentSchema,
} from "../../gen/shop/payment/v1/payment_pb.js";
import { requireCaller, type CallContext, type ServiceImpl } from "../../platform/grpc/index.js";
import type { Ledger } from "./ledger-view.js";
import { fromProtoMoney, toProtoMoney } from "../../platform/money.js";
import type { PaymentMethods } from "./payment-methods.js";
import type { PaymentStatus as Status } from "./payment-rules.js";
import type { Payments } from "./payments.js";
import type { StoredLedgerEntry, StoredMethod, StoredPayment } from "./store.js";

const statuses: Record<Status, PaymentStatus> = {
  pending: PaymentStatus.PENDING,
  authorized: PaymentStatus.AUTHORIZED,
  captured: PaymentStatus.CAPTURED,
  partially_refunded: PaymentStatus.PARTIALLY_REFUNDED,
  refunded: PaymentStatus.REFUNDED,
  voided: PaymentStatus.VOIDED,
  failed: PaymentStatus.FAILED,
};

const kinds: Record<StoredLedgerEntry["kind"], LedgerEntryKind> = {
  authorization: LedgerEntryKind.AUTHORIZATION,
  capture: LedgerEntryKind.CAPTURE,
  void: LedgerEntryKind.VOID,
  refund: LedgerEntryKind.REFUND,
  failure: LedgerEntryKind.FAILURE,
};


export function toProtoPayment(p: StoredPayment): MessageInitShape<typeof PaymentSchema> {
  const currency = p.amount.currency;
  return {
    id: p.id,
    orderId: p.orderId,
    userId: p.userId,
    status: statuses[p.status],
    amount: toProtoMoney(p.amount),
    capturedAmount: toProtoMoney({ amountMinor: p.capturedMinor, currency }),
    refundedAmount: toProtoMoney({ amountMinor: p.refundedMinor, currency }),
    cardBrand: p.cardBrand,
    cardLast4: p.cardLast4,
    provider: p.provider,
    providerReference: p.providerReference,
    failureReason: p.failureReason,
    createTime: timestampFromDate(p.createdAt),
    updateTime: timestampFromDate(p.updatedAt),
  };
}

const toProtoMethod = (m: StoredMethod): MessageInitShape<typeof PaymentMethodSchema> => ({
  token: m.token,
  brand: m.brand,
  last4: m.last4,
  expMonth: m.expMonth,
  expYear: m.expYear,
  createTime: timestampFromDate(m.createdAt),
});

const toProtoEntry = (e: StoredLedgerEntry): MessageInitShape<typeof LedgerEntrySchema> => ({
  id: e.id,
  paymentId: e.paymentId,
  orderId: e.orderId,
  kind: kinds[e.kind],
  amount: toProtoMoney(e.amount),
  providerReference: e.providerReference,
  idempotencyKey: e.idempotencyKey,
  createTime: timestampFromDate(e.createdAt),
});

const me = (ctx: CallContext) => requireCaller(ctx).subject;

export interface PaymentServiceDeps {
  readonly payments: Payments;
  readonly methods: PaymentMethods;
  readonly ledger: Ledger;
}

export function createPaymentService({ payments, methods, ledger }: PaymentServiceDeps): ServiceImpl<typeof PaymentService> {
  return {
    async createPaymentMethod(req, ctx) {
      const card = { number: req.cardNumber, expMonth: req.expMonth, expYear: req.expYear, cvc: req.cvc, holderName: req.cardholderName };
      return { paymentMethod: toProtoMethod(await methods.create(me(ctx), card)) };
    },
    async listPaymentMethods(req, ctx) {
      const page = await methods.list(me(ctx), req);
      return { paymentMethods: page.methods.map(toProtoMethod), nextPageToken: page.nextPageToken };
    },
    async deletePaymentMethod(req, ctx) {
      await methods.remove(me(ctx), req.token);
      return {};
    },

    async authorizePayment(req) {
      // protovalidate has checked that amount is set and positive.
      const payment = await payments.authorize({
        orderId: req.orderId,
        userId: req.userId,
        amount: fromProtoMoney(req.amount)!,
        paymentMethodToken: req.paymentMethodToken,
        idempotencyKey: req.idempotencyKey,
      });
      return { payment: toProtoPayment(payment) };
    },
    async capturePayment(req) {
      return { payment: toProtoPayment(await payments.capture(req.paymentId, fromProtoMoney(req.amount))) };
    },
    async voidPayment(req) {
      return { payment: toProtoPayment(await payments.void(req.paymentId, req.reason)) };
    },
    async refundPayment(req) {
      const payment = await payments.refund({ paymentId: req.paymentId, amount: fromProtoMoney(req.amount), reason: req.reason, idempotencyKey: req.idempotencyKey });
      return { payment: toProtoPayment(payment) };
    },
    async getPayment(req) {
      return { payment: toProtoPayment(await payments.get(req.paymentId)) };
    },
    async listLedgerEntries(req) {
      const page = await ledger.list(req);
      return { entries: page.entries.map(toProtoEntry), nextPageToken: page.nextPageToken };
    },
  };
}

export { PaymentService };
