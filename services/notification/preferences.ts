// The customer's switches and what they govern. The contract: mails that protect the account
// or confirm what the customer did or paid for (order confirmation, cancellation, password
// change, ...) always go; the switches cover order progress (shipped, delivered, refunded),
// marketing, and the live stream.

export interface Preferences {
  /** Mails when an order ships, is delivered or is refunded. */
  readonly orderUpdatesEmail: boolean;
  readonly marketingEmail: boolean;
  /** Events on the WatchOrderUpdates stream. */
  readonly liveOrderUpdates: boolean;
}

/** What a customer who never chose anything gets: everything but marketing (opt-in only). */
export const DEFAULT_PREFERENCES: Preferences = { orderUpdatesEmail: true, marketingEmail: false, liveOrderUpdates: true };

/** Which switch, if any, a mail is under. */
export type MailKind = "transactional" | "order_updates" | "marketing";

/** Whether a mail of `kind` goes to a customer with `prefs`. */
export function allowsMail(prefs: Preferences, kind: MailKind): boolean {
  switch (kind) {
    case "transactional":
      return true;
    case "order_updates":
      return prefs.orderUpdatesEmail;
    case "marketing":
      return prefs.marketingEmail;
  }
}

export const allowsLive = (prefs: Preferences): boolean => prefs.liveOrderUpdates;
