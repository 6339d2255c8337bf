// Card numbers, CVCs, payment method tokens and the Stripe key never leave the service in a log
// line, and card data is in no table and no event. Every log line of the process is captured
// while two payment services (sandbox, and Stripe against the stub) run at debug level through
// every flow, failures and timeouts included, and searched for each secret.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { PaymentStatus } from "../../../gen/shop/payment/v1/payment_pb.js";
import { Code } from "../../../platform/errors.js";
import { createSandboxProvider } from "../providers/sandbox.js";
import { adminCall, authorizeRequest, CARDS, newShopper, rejectionOf, startInfra, startPayment, usd, type RunningPayment, type Shopper } from "./helpers.js";
import { startStripeStub, STUB_KEY, type StripeStub } from "./stripe-stub.js";

/** Captures JSON log lines written to stdout (the platform logger's default sink), passing other output through. */
function captureStdout(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    if (text.startsWith("{")) {
      lines.push(...text.split("\n").filter((l) => l.length > 0));
      return true;
    }
    return original(chunk, ...(rest as []));
  };
  return { lines, restore: () => void (process.stdout.write = original) };
}

const CVC = "8317";

describe("payment service: card data and keys stay secret (real PostgreSQL)", () => {
  let infra: Awaited<ReturnType<typeof startInfra>>;
  let stub: StripeStub;
  let sandboxed: RunningPayment;
  let striped: RunningPayment;
  let capture: ReturnType<typeof captureStdout>;

  before(async () => {
    capture = captureStdout();
    [infra, stub] = await Promise.all([startInfra(), startStripeStub()]);
    sandboxed = await startPayment({ databaseUrl: infra.tdb.url, users: infra.users.address, provider: createSandboxProvider(), env: { LOG_LEVEL: "debug" } });
    // Its own schema in the same database, so the two never share a table.
    striped = await startPayment({
      databaseUrl: infra.tdb.url,
      users: infra.users.address,
      env: { LOG_LEVEL: "debug", DATABASE_SCHEMA: "payment_stripe", PAYMENT_PROVIDER: "stripe", STRIPE_API_KEY: STUB_KEY, STRIPE_API_BASE: stub.url, PAYMENT_PROVIDER_TIMEOUT: "300ms" },
    });
  });
  after(async () => {
    try {
      await sandboxed?.stop();
      await striped?.stop();
      await stub?.stop();
      await infra?.stop();
    } finally {
      capture.restore();
    }
  });

  async function everyFlow(svc: RunningPayment, shopper: Shopper, numbers: readonly string[]): Promise<string[]> {
    const tokens: string[] = [];
    for (const cardNumber of numbers) {
      const res = await svc.client.createPaymentMethod({ cardNumber, expMonth: 11, expYear: 2031, cvc: CVC, cardholderName: "Grace Hopper" }, shopper.call);
      tokens.push(res.paymentMethod!.token);
    }
    // A refused card number (checksum) and a refused token (another customer's).
    await rejectionOf(svc.client.createPaymentMethod({ cardNumber: "4242424242424241", expMonth: 11, expYear: 2031, cvc: CVC, cardholderName: "G" }, shopper.call));
    const stranger = await newShopper(infra.users);
    assert.equal((await rejectionOf(svc.client.authorizePayment(authorizeRequest({ shopper: stranger, token: tokens[0]! })))).code, Code.PERMISSION_DENIED);
    for (const token of tokens) {
      const p = (await svc.client.authorizePayment(authorizeRequest({ shopper, token, amount: 5_000n }))).payment!;
      if (p.status !== PaymentStatus.AUTHORIZED) continue;
      await svc.client.capturePayment({ paymentId: p.id });
      await svc.client.refundPayment({ paymentId: p.id, amount: usd(1_000n), idempotencyKey: randomUUID(), reason: "partial return" });
      await rejectionOf(svc.client.refundPayment({ paymentId: p.id, amount: usd(9_000n), idempotencyKey: randomUUID() }));
    }
    await svc.client.listPaymentMethods({}, shopper.call);
    await svc.client.listLedgerEntries({}, await adminCall(infra.users));
    return tokens;
  }

  it("logs no card number, CVC, token or API key, and stores card data nowhere", async () => {
    const shopper = await newShopper(infra.users);
    const sandboxNumbers = [CARDS.visa, CARDS.declined, CARDS.threeDSecure, CARDS.timeout];
    const tokens = await everyFlow(sandboxed, shopper, sandboxNumbers);
    // A Stripe answer that never comes, then one that is an error page.
    stub.failNext(/\/confirm$/, { kind: "hang" });
    const stripeNumbers = [CARDS.visa, CARDS.insufficientFunds];
    tokens.push(...(await everyFlow(striped, shopper, stripeNumbers)));
    stub.failNext(/\/capture$/, { kind: "status", status: 503, body: "<html>bad gateway</html>" });
    tokens.push(...(await everyFlow(striped, shopper, [CARDS.mastercard])));

    const logs = capture.lines.join("\n");
    // The capture works: failures, declines and timeouts were logged.
    assert.match(logs, /"rpc failed"/);
    assert.match(logs, /payment declined/);
    assert.match(logs, /outcome unknown/);
    const secrets = [...sandboxNumbers, ...stripeNumbers, CARDS.mastercard, "4242424242424241", ...tokens, STUB_KEY];
    for (const secret of secrets) assert.ok(!logs.includes(secret), `a log line carries a secret (${secret.slice(0, 6)}…)`);
    // Not inside hex ids, uuids or fractional milliseconds, where four digits occur by chance.
    assert.ok(!new RegExp(`"cvc"|(?<![0-9a-fA-F.-])${CVC}(?![0-9a-fA-F-])`).test(logs), "a log line carries the CVC");
    // Nothing even tried to log a secret: the logger's redaction is a last line of defence,
    // not the plan. The start-up line masks settings whose names merely look secret.
    assert.deepEqual(capture.lines.filter((l) => l.includes("REDACTED") && !l.includes('"msg":"starting"')), []);

    // No table and no event holds a card number or CVC; events hold no token either.
    for (const svc of [sandboxed, striped]) {
      const schema = svc === sandboxed ? "payment" : "payment_stripe";
      const { rows: tables } = await svc.db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", [schema]);
      assert.ok(tables.length >= 6);
      for (const { table_name } of tables) {
        const { rows } = await svc.db.query(`SELECT * FROM ${schema}."${table_name}"`);
        const dump = JSON.stringify(rows, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Buffer ? v.toString("latin1") : v));
        for (const number of [...sandboxNumbers, ...stripeNumbers]) assert.ok(!dump.includes(number), `${table_name} holds a card number`);
        if (table_name === "outbox") for (const token of tokens) assert.ok(!dump.includes(token), "an event carries a payment method token");
      }
      const { rows } = await svc.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.outbox`);
      assert.ok(rows[0]!.n > 0);
    }
  });
});
