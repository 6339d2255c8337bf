// The payment service as the platform runs it: configuration, the provider adapter, wiring and
// the reconciler. Callers' tokens are verified by the platform against the users service's
// JWKS (USERS_ADDR).
import { ConfigError } from "../../platform/config.js";
import { sourcePath } from "../../platform/paths.js";
import type { ServiceModule } from "../../platform/service.js";
import { paymentConfig } from "./config.js";
import { createLedger } from "./ledger-view.js";
import { createPaymentMethods } from "./payment-methods.js";
import { createPayments } from "./payments.js";
import type { PaymentProvider } from "./providers/provider.js";
import { createSandboxProvider } from "./providers/sandbox.js";
import { createStripeProvider } from "./providers/stripe.js";
import { startReconciler } from "./reconciler.js";
import { createPaymentService, PaymentService } from "./service.js";
import { createPaymentStore } from "./store.js";

export interface PaymentModuleOptions {
  /** The service's notion of now. Tests move it. */
  readonly clock?: () => Date;
  /** Replace the adapter PAYMENT_PROVIDER selects, e.g. with a sandbox the test inspects. */
  readonly provider?: PaymentProvider;
}

export function createPaymentModule(opts: PaymentModuleOptions = {}): ServiceModule<typeof paymentConfig> {
  const clock = opts.clock ?? (() => new Date());
  return {
    name: "payment",
    defaultPort: 50057,
    config: paymentConfig,
    migrations: sourcePath("services", "payment", "migrations"),
    setup(parts) {
      const { config, db, log, server } = parts;
      let provider = opts.provider;
      if (!provider) {
        if (config.PAYMENT_PROVIDER === "stripe") {
          if (!config.STRIPE_API_KEY) throw new ConfigError(["STRIPE_API_KEY is required with PAYMENT_PROVIDER=stripe (Stripe secret key)"]);
          provider = createStripeProvider({ apiKey: config.STRIPE_API_KEY, apiBase: config.STRIPE_API_BASE, timeoutMs: config.PAYMENT_PROVIDER_TIMEOUT });
        } else {
          provider = createSandboxProvider({ clock });
        }
      }
      const store = createPaymentStore(db);
      const payments = createPayments({ store, provider, clock, log, lockWaitMs: config.PAYMENT_LOCK_WAIT });
      const methods = createPaymentMethods({ store, provider, clock, log });
      server.add(PaymentService, createPaymentService({ payments, methods, ledger: createLedger(store) }));
      const reconciler = startReconciler({
        store,
        payments,
        clock,
        log,
        intervalMs: config.PAYMENT_RECONCILE_INTERVAL,
        afterMs: config.PAYMENT_RECONCILE_AFTER,
        batch: config.PAYMENT_RECONCILE_BATCH,
      });
      parts.onStop(() => reconciler.stop());
      log.info("payment provider", { provider: provider.name });
    },
  };
}

export const paymentModule = createPaymentModule();
