// Saved cards: tokenized by the provider adapter, kept as token plus what a receipt shows. The
// card number and CVC are handed to the adapter and go nowhere else: not into a table, a log
// line, an error message or an event.
import { fieldError, invalidArgument } from "../../platform/errors.js";
import type { Logger } from "../../platform/logger.js";
import { decodeMethodToken, encodeMethodToken, pageSize } from "./page-token.js";
import { ProviderError, type CardInput, type PaymentProvider } from "./providers/provider.js";
import type { PaymentStore, StoredMethod } from "./store.js";
import { unavailable } from "../../platform/errors.js";

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
      let tokenized;
      try {
        tokenized = await provider.tokenize(card);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        if (err.kind === "rejected") throw err.field ? fieldError(err.field, err.message) : invalidArgument(`the card was refused: ${err.message}`);
        log.warn("payment provider could not tokenize a card", { kind: err.kind, code: err.code });
        throw unavailable("the payment provider did not answer; try again", err);
      }
      const method: StoredMethod = { ...tokenized, userId, provider: provider.name, createdAt: clock() };
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
      await store.deleteMethod(userId, token);
    },
  };
}
