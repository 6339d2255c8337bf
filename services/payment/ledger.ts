// The double-entry model of money movements (README.md, "Ledger"). Each movement is one ledger
// transaction of postings whose debits equal its credits; the database checks that again at
// commit. Accounts are per payment:
//
//   customer_funds  the customer's money we have not touched (contra: goes negative as money
//                   moves to us, back up when it is released)
//   authorized      held on the card for us, not yet taken
//   captured        taken and kept (what a refund draws from)
//   refunded        taken and given back
//
// Balances (debits minus credits): authorized = the open hold; captured + refunded = the
// captured amount; refunded = the refunded amount; customer_funds = minus the sum of the rest.
export type Account = "customer_funds" | "authorized" | "captured" | "refunded";
export type Direction = "debit" | "credit";
export type MovementKind = "authorization" | "capture" | "void" | "refund" | "failure";

export interface Posting {
  readonly account: Account;
  readonly direction: Direction;
  readonly amountMinor: bigint;
}

export interface Movement {
  readonly kind: MovementKind;
  /** The amount the movement is about (LedgerEntry.amount). */
  readonly amountMinor: bigint;
  readonly postings: readonly Posting[];
}

const transfer = (kind: MovementKind, from: Account, to: Account, amountMinor: bigint): Movement => ({
  kind,
  amountMinor,
  postings: [
    { account: to, direction: "debit", amountMinor },
    { account: from, direction: "credit", amountMinor },
  ],
});

export const authorizationMovement = (amountMinor: bigint) => transfer("authorization", "customer_funds", "authorized", amountMinor);
export const voidMovement = (amountMinor: bigint) => transfer("void", "authorized", "customer_funds", amountMinor);
export const refundMovement = (amountMinor: bigint) => transfer("refund", "captured", "refunded", amountMinor);
/** A declined authorization: on record for reconciliation, but no money moved, so no postings. */
export const failureMovement = (amountMinor: bigint): Movement => ({ kind: "failure", amountMinor, postings: [] });

/** A capture of part of the authorization releases the rest back to the customer at once. */
export function captureMovements(authorizedMinor: bigint, capturedMinor: bigint): Movement[] {
  const capture = transfer("capture", "authorized", "captured", capturedMinor);
  const rest = authorizedMinor - capturedMinor;
  return rest > 0n ? [capture, voidMovement(rest)] : [capture];
}

export function isBalanced(postings: readonly Posting[]): boolean {
  return postings.reduce((sum, p) => sum + (p.direction === "debit" ? p.amountMinor : -p.amountMinor), 0n) === 0n;
}

/** Debits minus credits per account. */
export function balances(postings: readonly Posting[]): Record<Account, bigint> {
  const out: Record<Account, bigint> = { customer_funds: 0n, authorized: 0n, captured: 0n, refunded: 0n };
  for (const p of postings) out[p.account] += p.direction === "debit" ? p.amountMinor : -p.amountMinor;
  return out;
}
