// Saved cards: tokenized by the provider adapter, kept as token plus what a receipt shows. The
// card number and CVC are handed to the adapter and go nowhere else: not into a table, a log
// line, an error message or an event.
import { fieldError, invalidArgument, unavailable } from "../../platform/errors.js";
import type { Logger } from "../../platform/logger.js";
import { decodeMethodToken, encodeMethodToken, pageSize } from "./page-token.js";
import { ProviderError, type CardInput, type PaymentProvider } from "./providers/provider.js";
import type { PaymentStore, StoredMethod } from "./store.js";

export interface PaymentMethodsDeps {
  readonly store: PaymentStore;
  readonly provider: PaymentProvider;
  readonly clock: () => Date;
  readonly log: Logger;
}

export interface MethodPage {
  readonly methods: StoredMethod[];
  readonly nextPageToken: string;
}

export interface PaymentMethods {
  create(userId: string, card: CardInput): Promise<StoredMethod>;
  list(userId: string, page: { pageSize: number; pageToken: string }): Promise<MethodPage>;
  /** Idempotent: a token the caller does not have (any more) changes nothing. */
  remove(userId: string, token: string): Promise<void>;
}

export function createPaymentMethods({ store, provider, clock, log }: PaymentMethodsDeps): PaymentMethods {
  return {
    async create(userId, card) {
      const customerReference = await store.customerOf(userId, provider.name);
      let tokenized;
      try {
        tokenized = await provider.tokenize(card, { userId, customerReference });
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        if (err.kind === "rejected") throw err.field ? fieldError(err.field, err.message) : invalidArgument(`the card was refused: ${err.message}`);
        log.warn("payment provider could not tokenize a card", { kind: err.kind, code: err.code });
        throw unavailable("the payment provider did not answer; try again", err);
      }
      if (tokenized.customerReference && tokenized.customerReference !== customerReference) {
        await store.saveCustomer(userId, provider.name, tokenized.customerReference, clock());
      }
      const method: StoredMethod = { ...tokenized, customerReference: tokenized.customerReference, userId, provider: provider.name, createdAt: clock() };
      await store.insertMethod(method);
      return method;
    },

    async list(userId, page) {
      const size = pageSize(page.pageSize);
      const rows = await store.listMethods(userId, decodeMethodToken(page.pageToken), size + 1);
      const methods = rows.slice(0, size);
      const last = methods[methods.length - 1];
      return { methods, nextPageToken: rows.length > size && last ? encodeMethodToken({ time: last.createdAt, token: last.token }) : "" };
    },

    async remove(userId, token) {
      const method = await store.method(token);
      if (!method || method.userId !== userId) return;
      // Detached first: a card we forgot but the provider still holds could still be charged.
      try {
        await provider.forget(token);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        if (err.outcomeUnknown) throw unavailable("the payment provider did not answer; try again", err);
        // Refused: already detached (a retry after our delete failed), nothing left to undo.
        log.info("payment provider had nothing to detach", { code: err.code });
      }
      await store.deleteMethod(userId, token);
    },
  };
}
