// The one interface every payment provider adapter implements (sandbox.ts, stripe.ts).
//
// Every money-moving call carries an idempotency key derived from our own ids (the payment id
// plus the operation, or the refund id), so calling again after a timeout asks the provider
// about the same operation instead of starting a second one: that is how a pending operation is
// reconciled. A call ends in one of three ways:
//   - a result (for authorize, possibly a decline: a decline is an answer, not an error);
//   - ProviderError "rejected": the provider answered no, nothing happened (e.g. capture of an
//     expired authorization); the operation is over;
//   - ProviderError "unavailable" / "timeout" / "misconfigured": we do not know, or nothing
//     happened for a reason on our side of the wire; the operation stays pending and a retry
//     with the same key settles it.
import type { Money } from "../../../platform/money.js";

/** Card data exactly as CreatePaymentMethod received it. Passed to the adapter and dropped. */
export interface CardInput {
  readonly number: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly cvc: string;
  readonly holderName: string;
}

/** What we keep of a card: the provider's token and what a receipt shows. */
export interface TokenizedCard {
  readonly token: string;
  readonly brand: string;
  readonly last4: string;
  readonly expMonth: number;
  readonly expYear: number;
  /** The provider's customer the card was attached to (created if the owner had none). */
  readonly customerReference?: string;
}

/** Whose card it is: our user, and their customer at the provider if they have one yet. */
export interface CardOwner {
  readonly userId: string;
  readonly customerReference: string | undefined;
}

/** Why an authorization was declined, in our words (see declineReason). */
export type DeclineCode =
  | "card_declined"
  | "insufficient_funds"
  | "expired_card"
  | "incorrect_cvc"
  | "authentication_required"
  | "processing_error";

export type AuthorizeResult =
  | { readonly outcome: "authorized"; readonly reference: string }
  | { readonly outcome: "declined"; readonly reference: string; readonly code: DeclineCode };

export interface AuthorizeRequest {
  readonly idempotencyKey: string;
  readonly token: string;
  readonly amount: Money;
  /** Our ids, for the provider's dashboard and its own reconciliation. */
  readonly paymentId: string;
  readonly orderId: string;
  /** The customer the token is attached to, if any. */
  readonly customerReference: string | undefined;
}

export interface CaptureRequest {
  readonly idempotencyKey: string;
  readonly reference: string;
  readonly amount: Money;
}

export interface VoidRequest {
  readonly idempotencyKey: string;
  readonly reference: string;
}

export interface RefundRequest {
  readonly idempotencyKey: string;
  /** The authorization's reference (a Stripe PaymentIntent id). */
  readonly reference: string;
  readonly amount: Money;
  readonly reason: string;
}

export interface PaymentProvider {
  /** Stored on every payment ("sandbox", "stripe"). */
  readonly name: string;
  /** Tokenizes a card; the card data goes nowhere else. `ProviderError` "rejected" names the field. */
  tokenize(card: CardInput, owner: CardOwner): Promise<TokenizedCard>;
  /** Detaches a saved card from its customer, so it cannot be charged any more. */
  forget(token: string): Promise<void>;
  authorize(req: AuthorizeRequest): Promise<AuthorizeResult>;
  /** Resolves with the provider's reference of the capture. */
  capture(req: CaptureRequest): Promise<string>;
  void(req: VoidRequest): Promise<void>;
  /** Resolves with the refund's reference. */
  refund(req: RefundRequest): Promise<string>;
}

export type ProviderErrorKind = "rejected" | "unavailable" | "timeout" | "misconfigured";

export class ProviderError extends Error {
  constructor(
    readonly kind: ProviderErrorKind,
    /** The provider's code (e.g. Stripe's `charge_expired_for_capture`); never card data. */
    readonly code: string,
    message: string,
    /** For "rejected" card data at tokenize: which request field was wrong. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "ProviderError";
  }

  /** Whether the operation may have happened, or may still happen on retry. */
  get outcomeUnknown(): boolean {
    return this.kind !== "rejected";
  }
}

/** Shown to the shopper as Payment.failure_reason: plain words, nothing about the card's data. */
export function declineReason(code: DeclineCode): string {
  switch (code) {
    case "card_declined":
      return "card declined";
    case "insufficient_funds":
      return "insufficient funds";
    case "expired_card":
      return "card expired";
    case "incorrect_cvc":
      return "incorrect security code";
    case "authentication_required":
      return "the card issuer requires authentication (3-D Secure), which this checkout cannot complete";
    case "processing_error":
      return "the card could not be processed; try again or use another card";
  }
}
