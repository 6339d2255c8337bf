// The Stripe adapter: Stripe's REST API (https://docs.stripe.com/api) over fetch, form-encoded
// bodies, `Authorization: Bearer <secret key>`, and an `Idempotency-Key` on every POST, derived
// from our operation's key so a retry after a timeout is answered about the same operation.
//
//   tokenize   POST /v1/customers                       once per user (metadata[user_id])
//              POST /v1/payment_methods                 type=card, card[...]
//              POST /v1/payment_methods/{id}/attach     customer (a saved card can pay again)
//   forget     POST /v1/payment_methods/{id}/detach
//   authorize  POST /v1/payment_intents                 capture_method=manual (a hold)
//              POST /v1/payment_intents/{id}/confirm    error_on_requires_action=true
//   capture    POST /v1/payment_intents/{id}/capture    amount_to_capture
//   void       POST /v1/payment_intents/{id}/cancel
//   refund     POST /v1/refunds                         payment_intent, amount
//
// Stripe errors map to ProviderError: card_error is a decline (authorize) or a refusal;
// invalid_request_error and idempotency_error are refusals; authentication and permission
// errors mean our key is wrong (misconfigured); api_error, rate limits, HTTP 5xx, network
// failures and timeouts leave the outcome unknown, which a retry with the same key resolves.
// Nothing of the card, the key or the request body is ever put in an error message or a log.
import { randomUUID } from "node:crypto";
import { ProviderError, type AuthorizeResult, type DeclineCode, type PaymentProvider, type ProviderErrorKind } from "./provider.js";

export interface StripeOptions {
  readonly apiKey: string;
  /** https://api.stripe.com, or a stub in tests. */
  readonly apiBase: string;
  readonly timeoutMs: number;
}

interface StripeErrorBody {
  readonly type?: string;
  readonly code?: string;
  readonly decline_code?: string;
  readonly message?: string;
  readonly param?: string;
  readonly payment_intent?: { readonly id?: string };
}

interface PaymentIntent {
  readonly id: string;
  readonly status: string;
  readonly latest_charge?: string | null;
  readonly last_payment_error?: StripeErrorBody | null;
}

/** A Stripe error answer, kept whole until the operation decides what it means. */
class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
  ) {
    super(body.message ?? `Stripe answered HTTP ${status}`);
    this.name = "StripeApiError";
  }

  get code(): string {
    return this.body.code ?? this.body.type ?? `http_${this.status}`;
  }

  toProviderError(): ProviderError {
    return new ProviderError(errorKind(this.status, this.body.type), this.code, this.message, cardField(this.body.param));
  }
}

function errorKind(status: number, type: string | undefined): ProviderErrorKind {
  if (status === 401 || status === 403 || type === "authentication_error" || type === "permission_error") return "misconfigured";
  // 409: a request with the same key is still in flight at Stripe; 429: rate limited, not processed.
  if (status === 409 || status === 429 || status >= 500 || type === "api_error" || type === "rate_limit_error") return "unavailable";
  return "rejected";
}

/** Our request field for a card parameter Stripe complained about. */
function cardField(param: string | undefined): string | undefined {
  switch (param) {
    case "card[number]":
    case "number":
      return "card_number";
    case "card[exp_month]":
    case "exp_month":
      return "exp_month";
    case "card[exp_year]":
    case "exp_year":
      return "exp_year";
    case "card[cvc]":
    case "cvc":
      return "cvc";
    default:
      return undefined;
  }
}

/** Stripe's decline and error codes in our terms (https://docs.stripe.com/declines/codes). */
export function declineCode(err: StripeErrorBody | null | undefined): DeclineCode {
  const codes = [err?.decline_code, err?.code];
  if (codes.includes("insufficient_funds")) return "insufficient_funds";
  if (codes.includes("expired_card")) return "expired_card";
  if (codes.includes("incorrect_cvc") || codes.includes("invalid_cvc")) return "incorrect_cvc";
  if (codes.includes("authentication_required") || codes.includes("payment_intent_authentication_failure")) return "authentication_required";
  if (codes.includes("processing_error") || codes.includes("try_again_later")) return "processing_error";
  return "card_declined";
}

type Form = Record<string, string | number | undefined>;

export function createStripeProvider(opts: StripeOptions): PaymentProvider {
  const base = opts.apiBase.replace(/\/+$/, "");

  async function request<T>(method: "GET" | "POST", path: string, form?: Form, idempotencyKey?: string): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.apiKey}`, accept: "application/json" };
    let body: string | undefined;
    if (method === "POST") {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(form ?? {})) if (v !== undefined) params.append(k, String(v));
      body = params.toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers["idempotency-key"] = idempotencyKey ?? randomUUID();
    }
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(opts.timeoutMs) });
    } catch (err) {
      const name = (err as { name?: unknown }).name;
      if (name === "TimeoutError" || name === "AbortError") throw new ProviderError("timeout", "timeout", `Stripe did not answer within ${opts.timeoutMs} ms`);
      throw new ProviderError("unavailable", "network_error", "Stripe could not be reached");
    }
    let parsed: unknown;
    try {
      parsed = await res.json();
    } catch {
      // A proxy's HTML error page, a cut-off body: we do not know what happened.
      throw new ProviderError("unavailable", `http_${res.status}`, `Stripe answered HTTP ${res.status} without JSON`);
    }
    if (res.ok) return parsed as T;
    throw new StripeApiError(res.status, (parsed as { error?: StripeErrorBody }).error ?? {});
  }

  /** Runs a call whose Stripe errors all mean a ProviderError. */
  async function plain<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw err instanceof StripeApiError ? err.toProviderError() : err;
    }
  }

  /** The outcome of a confirmed (or confirm-attempted) PaymentIntent. */
  function outcomeOf(pi: PaymentIntent): AuthorizeResult {
    if (pi.status === "requires_capture") return { outcome: "authorized", reference: pi.id };
    if (pi.status === "requires_action") return { outcome: "declined", reference: pi.id, code: "authentication_required" };
    if (pi.status === "requires_payment_method" || pi.status === "canceled") return { outcome: "declined", reference: pi.id, code: declineCode(pi.last_payment_error) };
    throw new ProviderError("unavailable", `unexpected_status_${pi.status}`, `PaymentIntent ${pi.id} is ${pi.status} after confirmation`);
  }

  return {
    name: "stripe",

    tokenize: (card, owner) =>
      plain(async () => {
        // Keyed by our user, so a retry (or two first cards at once) makes one Customer.
        const customer =
          owner.customerReference ??
          (await request<{ id: string }>("POST", "/v1/customers", { "metadata[user_id]": owner.userId }, `customer:${owner.userId}`)).id;
        const pm = await request<{ id: string; card?: { brand?: string; last4?: string; exp_month?: number; exp_year?: number } }>("POST", "/v1/payment_methods", {
          type: "card",
          "card[number]": card.number,
          "card[exp_month]": card.expMonth,
          "card[exp_year]": card.expYear,
          "card[cvc]": card.cvc,
          "billing_details[name]": card.holderName,
        });
        await request("POST", `/v1/payment_methods/${encodeURIComponent(pm.id)}/attach`, { customer }, `${pm.id}:attach`);
        return {
          token: pm.id,
          brand: pm.card?.brand ?? "card",
          last4: pm.card?.last4 ?? card.number.slice(-4),
          expMonth: pm.card?.exp_month ?? card.expMonth,
          expYear: pm.card?.exp_year ?? card.expYear,
          customerReference: customer,
        };
      }),

    forget: (token) =>
      plain(async () => {
        await request("POST", `/v1/payment_methods/${encodeURIComponent(token)}/detach`, {}, `${token}:detach`);
      }),

    async authorize(req) {
      const created = await plain(() =>
        request<PaymentIntent>(
          "POST",
          "/v1/payment_intents",
          {
            amount: req.amount.amountMinor.toString(),
            currency: req.amount.currency.toLowerCase(),
            payment_method: req.token,
            customer: req.customerReference,
            capture_method: "manual",
            "payment_method_types[]": "card",
            "metadata[payment_id]": req.paymentId,
            "metadata[order_id]": req.orderId,
          },
          `${req.idempotencyKey}:create`,
        ),
      );
      const path = `/v1/payment_intents/${encodeURIComponent(created.id)}`;
      try {
        return outcomeOf(await request<PaymentIntent>("POST", `${path}/confirm`, { error_on_requires_action: "true" }, `${req.idempotencyKey}:confirm`));
      } catch (err) {
        if (!(err instanceof StripeApiError)) throw err;
        if (err.body.type === "card_error") return { outcome: "declined", reference: err.body.payment_intent?.id ?? created.id, code: declineCode(err.body) };
        // Confirmed already by an earlier attempt whose answer was lost (and whose idempotent
        // replay Stripe no longer keeps): what the PaymentIntent says now is the outcome.
        if (err.code === "payment_intent_unexpected_state") return outcomeOf(await plain(() => request<PaymentIntent>("GET", path)));
        throw err.toProviderError();
      }
    },

    capture: (req) =>
      plain(async () => {
        const pi = await request<PaymentIntent>(
          "POST",
          `/v1/payment_intents/${encodeURIComponent(req.reference)}/capture`,
          { amount_to_capture: req.amount.amountMinor.toString() },
          req.idempotencyKey,
        );
        return pi.latest_charge ?? pi.id;
      }),

    void: (req) =>
      plain(async () => {
        await request<PaymentIntent>("POST", `/v1/payment_intents/${encodeURIComponent(req.reference)}/cancel`, {}, req.idempotencyKey);
      }),

    refund: (req) =>
      plain(async () => {
        const refund = await request<{ id: string; status?: string; failure_reason?: string }>(
          "POST",
          "/v1/refunds",
          { payment_intent: req.reference, amount: req.amount.amountMinor.toString(), ...(req.reason ? { "metadata[reason]": req.reason } : {}) },
          req.idempotencyKey,
        );
        if (refund.status === "failed" || refund.status === "canceled") {
          throw new ProviderError("rejected", refund.failure_reason ?? `refund_${refund.status}`, `Stripe refund ${refund.id} ${refund.status}`);
        }
        return refund.id;
      }),
  };
}
