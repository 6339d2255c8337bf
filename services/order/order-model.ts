// The order as the service holds it: what the store reads and writes, the saga drives and the
// handlers map to the contract.
import type { Code } from "../../platform/errors.js";
import type { AppliedDiscount, PricedLine, Totals } from "./pricing.js";
import type { SagaKind, SagaPhase } from "./saga-plan.js";
import type { OrderStatus } from "./transitions.js";

/** shop.common.v1.Address as stored (JSON). */
export interface Address {
  readonly recipientName: string;
  readonly line1: string;
  readonly line2: string;
  readonly city: string;
  readonly region: string;
  readonly postalCode: string;
  readonly countryCode: string;
  readonly phone: string;
}

export interface StatusEntry {
  readonly status: OrderStatus;
  readonly reason: string;
  readonly changedAt: Date;
}

export interface SagaState {
  readonly kind: SagaKind;
  readonly phase: SagaPhase;
  /** Position of the next step in the phase's step list. */
  readonly next: number;
  readonly done: boolean;
  readonly deadline: Date;
  readonly failedStep: string;
  /** gRPC code of the failure that made the checkout compensate (0 when none). */
  readonly failureCode: Code;
}

/** Everything PlaceOrder decided before the saga starts. */
export interface OrderDraft {
  readonly id: string;
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly requestFingerprint: string;
  readonly cartFingerprint: string;
  readonly currency: string;
  readonly lines: readonly PricedLine[];
  readonly totals: Totals;
  readonly discounts: readonly AppliedDiscount[];
  readonly couponCodes: readonly string[];
  readonly shippingAddress: Address;
  readonly billingAddress: Address;
  readonly shippingSpeed: number;
  readonly paymentMethodToken: string;
  readonly createdAt: Date;
  readonly sagaDeadline: Date;
}

export interface StoredOrder extends Omit<OrderDraft, "sagaDeadline"> {
  readonly status: OrderStatus;
  readonly paymentId: string;
  readonly shipmentId: string;
  readonly refundedMinor: bigint;
  readonly reason: string;
  readonly updatedAt: Date;
  readonly saga: SagaState;
  readonly history: readonly StatusEntry[];
}
