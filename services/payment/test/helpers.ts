// Small named fixtures for the payment service tests: the service on a real port against its
// own real PostgreSQL database, a users service double that serves a JWKS (so shoppers and
// admins go through the platform's real token verification), saved test cards, and the ledger
// queries every scenario ends with.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { PaymentService, PaymentStatus, type Payment } from "../../../gen/shop/payment/v1/payment_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { createClient, type CallOptions, type ServiceClient } from "../../../platform/grpc/index.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { createPaymentModule } from "../module.js";
import type { PaymentProvider } from "../providers/provider.js";
import { startUsersDouble as startUsersDoubleFor, type UsersDouble } from "../../../platform/testing/grpc-double.js";

import { as } from "../../../platform/testing/calls.js";
export { as, rejectionOf } from "../../../platform/testing/calls.js";
export type { UsersDouble } from "../../../platform/testing/grpc-double.js";

export type PaymentClient = ServiceClient<typeof PaymentService>;

export const AUTH = { issuer: "shop-users-payment-test", audience: "shop-payment-test" };

/** The users service as this service sees it: a JWKS, and tokens for AUTH signed with its key. */
export const startUsersDouble = (): Promise<UsersDouble> => startUsersDoubleFor(AUTH);

export interface RunningPayment {
  readonly client: PaymentClient;
  /** A client that never retries, to see the first answer (e.g. UNAVAILABLE after a timeout). */
  readonly once: PaymentClient;
  /** The service's schema, to look at what it stored. */
  readonly db: Db;
  readonly service: RunningService;
  stop(): Promise<void>;
}

export interface PaymentSetup {
  readonly databaseUrl: string;
  readonly users: string;
  readonly provider?: PaymentProvider;
  readonly env?: Record<string, string>;
}

/** The payment service on a real port; several may share one database. */
export async function startPayment(setup: PaymentSetup): Promise<RunningPayment> {
  const service = await startService(createPaymentModule(setup.provider ? { provider: setup.provider } : {}), {
    DATABASE_URL: setup.databaseUrl,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    LOG_LEVEL: "error",
    USERS_ADDR: setup.users,
    AUTH_ISSUER: AUTH.issuer,
    AUTH_AUDIENCE: AUTH.audience,
    ...setup.env,
  });
  const address = `127.0.0.1:${service.port}`;
  const client = createClient(PaymentService, { name: "payment", address });
  const once = createClient(PaymentService, { name: "payment", address, retry: { maxAttempts: 1 } });
  const db = createDb({ url: setup.databaseUrl, schema: "payment", applicationName: "payment-test" });
  return {
    client,
    once,
    db,
    service,
    async stop() {
      client.close();
      once.close();
      await service.stop();
      await db.close();
    },
  };
}

/** A test database and a users double, for a suite. */
export async function startInfra(): Promise<{ tdb: TestDatabase; users: UsersDouble; stop(): Promise<void> }> {
  const [tdb, users] = await Promise.all([createTestDatabase("payment"), startUsersDouble()]);
  return {
    tdb,
    users,
    async stop() {
      await users.stop();
      await tdb.drop();
    },
  };
}

/** Test cards of the sandbox (providers/sandbox.ts). */
export const CARDS = {
  visa: "4242424242424242",
  mastercard: "5555555555554444",
  declined: "4000000000000002",
  insufficientFunds: "4000000000009995",
  threeDSecure: "4000002760003184",
  timeout: "4000000000000408",
} as const;

export interface Shopper {
  readonly id: string;
  readonly call: CallOptions;
}

export async function newShopper(users: UsersDouble): Promise<Shopper> {
  const id = randomUUID();
  return { id, call: as(await users.tokenFor(id)) };
}

export async function adminCall(users: UsersDouble): Promise<CallOptions> {
  return as(await users.tokenFor(randomUUID(), ["customer", "admin"]));
}

/** Saves `number` for the shopper and returns the token. */
export async function saveCard(client: PaymentClient, shopper: Shopper, number: string = CARDS.visa): Promise<string> {
  const res = await client.createPaymentMethod({ cardNumber: number, expMonth: 12, expYear: 2099, cvc: "123", cardholderName: "Test Shopper" }, shopper.call);
  return res.paymentMethod!.token;
}

export const usd = (amountMinor: bigint) => ({ amountMinor, currencyCode: "USD" });

export interface AuthorizeArgs {
  readonly shopper: Shopper;
  readonly token: string;
  readonly amount?: bigint;
  readonly orderId?: string;
  readonly key?: string;
}

export function authorizeRequest(a: AuthorizeArgs) {
  return {
    orderId: a.orderId ?? randomUUID(),
    userId: a.shopper.id,
    amount: usd(a.amount ?? 10_000n),
    paymentMethodToken: a.token,
    idempotencyKey: a.key ?? `order-${randomUUID()}-attempt-1`,
  };
}

/** An authorized payment of `amount` on a fresh visa. */
export async function authorizedPayment(client: PaymentClient, shopper: Shopper, amount = 10_000n): Promise<Payment> {
  const token = await saveCard(client, shopper);
  return (await client.authorizePayment(authorizeRequest({ shopper, token, amount }))).payment!;
}

/** Ledger transactions whose debits and credits differ: must always be empty. */
export async function unbalancedTransactions(db: Db): Promise<{ id: string; debits: string; credits: string }[]> {
  const { rows } = await db.query<{ id: string; debits: string; credits: string }>(
    `SELECT t.id,
            coalesce(sum(p.amount_minor) FILTER (WHERE p.direction = 'debit'), 0)::text AS debits,
            coalesce(sum(p.amount_minor) FILTER (WHERE p.direction = 'credit'), 0)::text AS credits
     FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
     GROUP BY t.id
     HAVING coalesce(sum(p.amount_minor) FILTER (WHERE p.direction = 'debit'), 0)
         <> coalesce(sum(p.amount_minor) FILTER (WHERE p.direction = 'credit'), 0)`,
  );
  return rows;
}

export interface AccountBalances {
  customer_funds: bigint;
  authorized: bigint;
  captured: bigint;
  refunded: bigint;
}

/** Debits minus credits per account of one payment. */
export async function balancesOf(db: Db, paymentId: string): Promise<AccountBalances> {
  const { rows } = await db.query<{ account: keyof AccountBalances; balance: string }>(
    `SELECT p.account, sum(CASE p.direction WHEN 'debit' THEN p.amount_minor ELSE -p.amount_minor END)::text AS balance
     FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id
     WHERE t.payment_id = $1 GROUP BY p.account`,
    [paymentId],
  );
  const out: AccountBalances = { customer_funds: 0n, authorized: 0n, captured: 0n, refunded: 0n };
  for (const r of rows) out[r.account] = BigInt(r.balance);
  return out;
}

/**
 * The ledger agrees with the payment: every transaction balances, the open hold is what is
 * authorized and not taken, captured + refunded is the captured amount, refunded the refunds.
 */
export async function assertLedgerMatches(db: Db, payment: Payment): Promise<AccountBalances> {
  assert.deepEqual(await unbalancedTransactions(db), []);
  const b = await balancesOf(db, payment.id);
  const open = payment.status === PaymentStatus.AUTHORIZED ? payment.amount!.amountMinor : 0n;
  assert.equal(b.authorized, open, "authorized balance is the open hold");
  assert.equal(b.captured + b.refunded, payment.capturedAmount!.amountMinor, "captured + refunded balances are the captured amount");
  assert.equal(b.refunded, payment.refundedAmount!.amountMinor, "refunded balance is the refunded amount");
  assert.equal(b.customer_funds, -(b.authorized + b.captured + b.refunded));
  return b;
}

/** Ledger movement kinds of a payment, oldest first. */
export async function movementsOf(db: Db, paymentId: string): Promise<string[]> {
  const { rows } = await db.query<{ kind: string; amount: string }>(
    "SELECT kind, amount_minor::text AS amount FROM ledger_transactions WHERE payment_id = $1 ORDER BY seq",
    [paymentId],
  );
  return rows.map((r) => `${r.kind} ${r.amount}`);
}

/** Events of type `schema` in the service's outbox about `paymentId`, oldest first. */
export async function eventsOf<D extends DescMessage>(db: Db, schema: D, paymentId: string): Promise<MessageShape<D>[]> {
  const { rows } = await db.query<{ payload: Buffer }>("SELECT payload FROM outbox WHERE type = $1 ORDER BY id", [schema.typeName]);
  return rows.map((r) => fromBinary(schema, r.payload)).filter((e) => (e as { paymentId?: string }).paymentId === paymentId);
}

/** Event types in the outbox about `paymentId`, oldest first. */
export async function eventTypesOf(db: Db, schemas: readonly DescMessage[], paymentId: string): Promise<string[]> {
  const { rows } = await db.query<{ type: string; payload: Buffer }>("SELECT type, payload FROM outbox ORDER BY id");
  const out: string[] = [];
  for (const r of rows) {
    const schema = schemas.find((s) => s.typeName === r.type);
    if (schema && (fromBinary(schema, r.payload) as { paymentId?: string }).paymentId === paymentId) out.push(r.type.replace("shop.payment.v1.", ""));
  }
  return out;
}
