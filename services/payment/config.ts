// The payment service's own settings, next to the platform's base ones.
import { duration, int, oneOf, optional, str, url } from "../../platform/config.js";

export const paymentConfig = {
  PAYMENT_PROVIDER: oneOf(["sandbox", "stripe"] as const, { doc: "provider adapter: sandbox (in-process test cards) or stripe", default: "sandbox" }),
  STRIPE_API_KEY: optional(str({ doc: "Stripe secret key (sk_...); required with PAYMENT_PROVIDER=stripe", secret: true })),
  STRIPE_API_BASE: url({ doc: "Stripe API base URL", protocols: ["https", "http"], default: "https://api.stripe.com" }),
  PAYMENT_PROVIDER_TIMEOUT: duration({ doc: "longest wait for one provider call; past it the operation stays pending until retried", default: 10_000 }),
  PAYMENT_LOCK_WAIT: duration({ doc: "longest a request waits for a payment another request is working on (when its caller set no deadline)", default: 30_000 }),
  PAYMENT_RECONCILE_INTERVAL: duration({ doc: "how often operations left pending (provider timeouts) are settled in the background", default: 60_000 }),
  PAYMENT_RECONCILE_AFTER: duration({ doc: "age at which a pending operation is settled by the background job rather than left to the caller's retry", default: 5 * 60_000 }),
  PAYMENT_RECONCILE_BATCH: int({ doc: "payments settled per reconciler run", default: 100, min: 1, max: 10_000 }),
};
