// The sandbox provider: an in-process stand-in for a card processor, for development, tests and
// the single-process shop. It behaves like one where it matters here: authorizations hold an
// amount, captures and refunds cannot exceed what is there, every operation is idempotent by
// its key (the same key with different parameters is refused), and test card numbers make it
// decline, time out or demand 3-D Secure (the table below, also in README.md).
//
// A card becomes a token named after its behaviour (`tok_chargeDeclined_<random>`), so the
// token alone tells the sandbox what to do at authorization, across restarts. What it
// remembers of operations (for idempotent replays) lives in memory and ends with the process,
// as a real provider's idempotency window ends after a day.
import { randomBytes, randomUUID } from "node:crypto";
import { formatMoney, type Money } from "../../../platform/money.js";
import {
  ProviderError,
  type AuthorizeResult,
  type CardInput,
  type DeclineCode,
  type PaymentProvider,
  type TokenizedCard,
} from "./provider.js";

interface Behaviour {
  readonly brand?: string;
  readonly decline?: DeclineCode;
  /** The first call of every operation on this card is carried out, then "times out". */
  readonly timeout?: boolean;
}

/** Test card numbers (Stripe's where Stripe has one) and the token name each one gets. */
export const SANDBOX_CARDS: Readonly<Record<string, { readonly token: string } & Behaviour>> = {
  "4242424242424242": { token: "visa", brand: "visa" },
  "5555555555554444": { token: "mastercard", brand: "mastercard" },
  "4000000000000002": { token: "chargeDeclined", brand: "visa", decline: "card_declined" },
  "4000000000009995": { token: "chargeDeclinedInsufficientFunds", brand: "visa", decline: "insufficient_funds" },
  "4000000000000069": { token: "chargeDeclinedExpiredCard", brand: "visa", decline: "expired_card" },
  "4000000000000127": { token: "chargeDeclinedIncorrectCvc", brand: "visa", decline: "incorrect_cvc" },
  "4000000000000119": { token: "chargeDeclinedProcessingError", brand: "visa", decline: "processing_error" },
  "4000002760003184": { token: "threeDSecureRequired", brand: "visa", decline: "authentication_required" },
  "4000000000000408": { token: "timeout", brand: "visa", timeout: true },
};

const behaviours = new Map<string, Behaviour>(Object.values(SANDBOX_CARDS).map(({ token, ...b }) => [token, b]));
// Any other number that passes the Luhn check is a card that works.
behaviours.set("card", {});

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function brandOf(number: string): string {
  if (/^4/.test(number)) return "visa";
  if (/^(5[1-5]|2[2-7])/.test(number)) return "mastercard";
  if (/^3[47]/.test(number)) return "amex";
  return "card";
}

interface Intent {
  readonly amount: Money;
  status: "authorized" | "captured" | "voided" | "declined";
  captured: bigint;
  refunded: bigint;
}

/** One call the sandbox received, for tests: operation and idempotency key, never card data. */
export interface SandboxCall {
  readonly op: "authorize" | "capture" | "void" | "refund";
  readonly idempotencyKey: string;
}

export interface SandboxProvider extends PaymentProvider {
  /** Every money call received, oldest first. */
  readonly calls: readonly SandboxCall[];
  /** The sandbox's own view of an authorization, to compare with ours. */
  intent(reference: string): Readonly<Intent> | undefined;
}

export interface SandboxOptions {
  readonly clock?: () => Date;
}

type Reply = { readonly fingerprint: string; readonly value: unknown } | { readonly fingerprint: string; readonly error: ProviderError };

export function createSandboxProvider(opts: SandboxOptions = {}): SandboxProvider {
  const clock = opts.clock ?? (() => new Date());
  const calls: SandboxCall[] = [];
  const intents = new Map<string, Intent>();
  const replies = new Map<string, Reply>();

  const behaviourOf = (token: string): Behaviour => {
    const name = /^tok_([A-Za-z]+)_[0-9a-f]{24}$/.exec(token)?.[1];
    const found = name === undefined ? undefined : behaviours.get(name);
    if (!found) throw new ProviderError("rejected", "no_such_payment_method", "the sandbox issued no such token");
    return found;
  };

  /**
   * Runs `fn` once per idempotency key: a replay gets the first answer (value or error), a
   * different request under a used key is refused. With `timeout`, the first call is carried
   * out and then answered with a timeout, as when the response is lost on the way back.
   */
  async function once<T>(call: SandboxCall, fingerprint: string, timeout: boolean, fn: () => T): Promise<T> {
    calls.push(call);
    const key = `${call.op}:${call.idempotencyKey}`;
    const previous = replies.get(key);
    if (previous) {
      if (previous.fingerprint !== fingerprint) {
        throw new ProviderError("rejected", "idempotency_key_in_use", "idempotency key reused with different parameters");
      }
      if ("error" in previous) throw previous.error;
      return previous.value as T;
    }
    let reply: Reply;
    try {
      reply = { fingerprint, value: fn() };
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      reply = { fingerprint, error: err };
    }
    replies.set(key, reply);
    if (timeout) throw new ProviderError("timeout", "timeout", "sandbox: the answer was lost on the way back");
    if ("error" in reply) throw reply.error;
    return reply.value as T;
  }

  const intentOf = (reference: string): Intent => {
    const intent = intents.get(reference);
    if (!intent) throw new ProviderError("rejected", "resource_missing", `no such authorization ${reference}`);
    return intent;
  };
  const behaviourOfIntent = (reference: string): Behaviour => behaviours.get(reference.split("_")[2] ?? "") ?? {};

  return {
    name: "sandbox",
    calls,
    intent: (reference) => intents.get(reference),

    async tokenize(card: CardInput, _owner): Promise<TokenizedCard> {
      if (!luhnValid(card.number)) throw new ProviderError("rejected", "incorrect_number", "not a valid card number", "card_number");
      const now = clock();
      if (card.expYear < now.getUTCFullYear() || (card.expYear === now.getUTCFullYear() && card.expMonth < now.getUTCMonth() + 1)) {
        throw new ProviderError("rejected", "invalid_expiry_year", "the card has expired", "exp_year");
      }
      const known = SANDBOX_CARDS[card.number];
      return {
        token: `tok_${known?.token ?? "card"}_${randomBytes(12).toString("hex")}`,
        brand: known?.brand ?? brandOf(card.number),
        last4: card.number.slice(-4),
        expMonth: card.expMonth,
        expYear: card.expYear,
      };
    },

    // Tokens are self-describing; there is nothing to forget.
    async forget() {},

    async authorize(req): Promise<AuthorizeResult> {
      const behaviour = behaviourOf(req.token);
      const fingerprint = `${req.token}|${req.amount.amountMinor}|${req.amount.currency}`;
      return once({ op: "authorize", idempotencyKey: req.idempotencyKey }, fingerprint, behaviour.timeout ?? false, () => {
        // The behaviour's name rides in the reference, so later operations know it too.
        const reference = `sbx_pi_${req.token.split("_")[1]}_${randomUUID()}`;
        intents.set(reference, { amount: req.amount, status: behaviour.decline ? "declined" : "authorized", captured: 0n, refunded: 0n });
        return behaviour.decline
          ? ({ outcome: "declined", reference, code: behaviour.decline } as const)
          : ({ outcome: "authorized", reference } as const);
      });
    },

    async capture(req) {
      const fingerprint = `${req.reference}|${req.amount.amountMinor}|${req.amount.currency}`;
      return once({ op: "capture", idempotencyKey: req.idempotencyKey }, fingerprint, behaviourOfIntent(req.reference).timeout ?? false, () => {
        const intent = intentOf(req.reference);
        if (intent.status !== "authorized") throw new ProviderError("rejected", "payment_intent_unexpected_state", `cannot capture a ${intent.status} authorization`);
        if (req.amount.currency !== intent.amount.currency || req.amount.amountMinor > intent.amount.amountMinor) {
          throw new ProviderError("rejected", "amount_too_large", `cannot capture ${formatMoney(req.amount)} of ${formatMoney(intent.amount)}`);
        }
        intent.status = "captured";
        intent.captured = req.amount.amountMinor;
        return `${req.reference}_capture`;
      });
    },

    async void(req) {
      return once({ op: "void", idempotencyKey: req.idempotencyKey }, req.reference, behaviourOfIntent(req.reference).timeout ?? false, () => {
        const intent = intentOf(req.reference);
        if (intent.status !== "authorized") throw new ProviderError("rejected", "payment_intent_unexpected_state", `cannot cancel a ${intent.status} authorization`);
        intent.status = "voided";
      });
    },

    async refund(req) {
      const fingerprint = `${req.reference}|${req.amount.amountMinor}|${req.amount.currency}`;
      return once({ op: "refund", idempotencyKey: req.idempotencyKey }, fingerprint, behaviourOfIntent(req.reference).timeout ?? false, () => {
        const intent = intentOf(req.reference);
        if (intent.status !== "captured") throw new ProviderError("rejected", "charge_not_captured", `cannot refund a ${intent.status} authorization`);
        if (req.amount.currency !== intent.amount.currency || intent.refunded + req.amount.amountMinor > intent.captured) {
          throw new ProviderError("rejected", "amount_too_large", `refunds would exceed the captured ${formatMoney({ amountMinor: intent.captured, currency: intent.amount.currency })}`);
        }
        intent.refunded += req.amount.amountMinor;
        return `sbx_re_${randomUUID()}`;
      });
    },
  };
}
