// Reading the ledger back for ListLedgerEntries: movements in the order they were recorded,
// filtered by payment or order, keyset-paged by sequence number.
import { decodeLedgerToken, encodeLedgerToken, pageSize } from "./page-token.js";
import type { PaymentStore, StoredLedgerEntry } from "./store.js";

export interface LedgerPage {
  readonly entries: StoredLedgerEntry[];
  readonly nextPageToken: string;
}

export interface Ledger {
  list(req: { pageSize: number; pageToken: string; paymentId: string; orderId: string }): Promise<LedgerPage>;
}

export function createLedger(store: PaymentStore): Ledger {
  return {
    async list(req) {
      const size = pageSize(req.pageSize);
      const filter = { ...(req.paymentId ? { paymentId: req.paymentId } : {}), ...(req.orderId ? { orderId: req.orderId } : {}) };
      const rows = await store.listLedger(filter, decodeLedgerToken(req.pageToken), size + 1);
      const entries = rows.slice(0, size);
      const last = entries[entries.length - 1];
      return { entries, nextPageToken: rows.length > size && last ? encodeLedgerToken(last.seq) : "" };
    },
  };
}
