// Idempotency on a real port and real PostgreSQL: replays with one key return the same payment
// and never move money twice, even as 20 concurrent calls, even across two replicas; the same
// key with other parameters is refused with ALREADY_EXISTS naming the field.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { PaymentStatus } from "../../../gen/shop/payment/v1/payment_pb.js";
import { Code } from "../../../platform/errors.js";
import { createSandboxProvider, type SandboxProvider } from "../providers/sandbox.js";
import {
  assertLedgerMatches,
  authorizedPayment,
  authorizeRequest,
  CARDS,
  movementsOf,
  newShopper,
  rejectionOf,
  saveCard,
  startInfra,
  startPayment,
  usd,
  type RunningPayment,
} from "./helpers.js";

const CONCURRENT = 20;

describe("payment service: idempotency (real PostgreSQL, two replicas)", () => {
  let infra: Awaited<ReturnType<typeof startInfra>>;
  let sandbox: SandboxProvider;
  let a: RunningPayment;
  let b: RunningPayment;

  before(async () => {
    infra = await startInfra();
    // One provider behind both replicas, as one Stripe account would be.
    sandbox = createSandboxProvider();
    a = await startPayment({ databaseUrl: infra.tdb.url, users: infra.users.address, provider: sandbox });
    b = await startPayment({ databaseUrl: infra.tdb.url, users: infra.users.address, provider: sandbox });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await infra?.stop();
  });

  const callsFor = (id: string, op: string) => sandbox.calls.filter((c) => c.op === op && c.idempotencyKey.startsWith(id)).length;

  it(`${CONCURRENT} concurrent authorizations with one key, over two replicas: one payment, one provider call, one movement`, async () => {
    const shopper = await newShopper(infra.users);
    const token = await saveCard(a.client, shopper);
    const req = authorizeRequest({ shopper, token, amount: 31_400n });
    const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => (i % 2 ? a : b).client.authorizePayment(req)));
    const ids = new Set(results.map((r) => r.payment!.id));
    assert.equal(ids.size, 1);
    const [id] = [...ids] as [string];
    assert.ok(results.every((r) => r.payment!.status === PaymentStatus.AUTHORIZED));
    assert.equal(callsFor(id, "authorize"), 1);
    assert.deepEqual(await movementsOf(a.db, id), ["authorization 31400"]);
    const { rows } = await a.db.query("SELECT 1 FROM outbox WHERE type = 'shop.payment.v1.PaymentAuthorized'");
    assert.equal(rows.length, 1);
    await assertLedgerMatches(a.db, results[0]!.payment!);

    // A later replay returns the payment as it is now, still without a provider call.
    await a.client.capturePayment({ paymentId: id });
    const replay = (await b.client.authorizePayment(req)).payment!;
    assert.deepEqual([replay.id, replay.status], [id, PaymentStatus.CAPTURED]);
    assert.equal(callsFor(id, "authorize"), 1);
  });

  it("replays a declined authorization as the same FAILED payment without asking the provider again", async () => {
    const shopper = await newShopper(infra.users);
    const req = authorizeRequest({ shopper, token: await saveCard(a.client, shopper, CARDS.insufficientFunds) });
    const first = (await a.client.authorizePayment(req)).payment!;
    const again = (await b.client.authorizePayment(req)).payment!;
    assert.deepEqual([again.id, again.status, again.failureReason], [first.id, PaymentStatus.FAILED, first.failureReason]);
    assert.equal(callsFor(first.id, "authorize"), 1);
  });

  it("refuses the same key with other parameters, naming the field, and records nothing", async () => {
    const shopper = await newShopper(infra.users);
    const token = await saveCard(a.client, shopper);
    const other = await saveCard(a.client, shopper, CARDS.mastercard);
    const req = authorizeRequest({ shopper, token, amount: 1_000n });
    const first = (await a.client.authorizePayment(req)).payment!;
    for (const [change, field] of [
      [{ amount: usd(1_001n) }, "amount"],
      [{ amount: { amountMinor: 1_000n, currencyCode: "EUR" } }, "amount.currency_code"],
      [{ paymentMethodToken: other }, "payment_method_token"],
      [{ orderId: randomUUID() }, "order_id"],
    ] as const) {
      const err = await rejectionOf(a.client.authorizePayment({ ...req, ...change }));
      assert.equal(err.code, Code.ALREADY_EXISTS, field);
      assert.equal(err.violations[0]?.field, field);
      assert.match(err.message, /idempotency_key/);
    }
    const { rows } = await a.db.query("SELECT 1 FROM payments WHERE user_id = $1", [shopper.id]);
    assert.equal(rows.length, 1);
    assert.equal(callsFor(first.id, "authorize"), 1);
  });

  it(`${CONCURRENT} concurrent captures of one payment: one provider call, one capture movement`, async () => {
    const p = await authorizedPayment(a.client, await newShopper(infra.users), 8_000n);
    const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => (i % 2 ? a : b).client.capturePayment({ paymentId: p.id, amount: usd(6_000n) })));
    assert.ok(results.every((r) => r.payment!.capturedAmount?.amountMinor === 6_000n));
    assert.equal(callsFor(p.id, "capture"), 1);
    assert.deepEqual(await movementsOf(a.db, p.id), ["authorization 8000", "capture 6000", "void 2000"]);
    await assertLedgerMatches(a.db, results[0]!.payment!);
  });

  it(`${CONCURRENT} concurrent refunds with one key: one provider call, one refund movement; other parameters refused`, async () => {
    const p = await authorizedPayment(a.client, await newShopper(infra.users), 10_000n);
    await a.client.capturePayment({ paymentId: p.id });
    const key = `refund-${randomUUID()}`;
    const req = { paymentId: p.id, amount: usd(2_500n), idempotencyKey: key, reason: "damaged" };
    const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => (i % 2 ? a : b).client.refundPayment(req)));
    assert.ok(results.every((r) => r.payment!.refundedAmount?.amountMinor === 2_500n));
    const { rows } = await a.db.query<{ id: string }>("SELECT id FROM refunds WHERE idempotency_key = $1", [key]);
    assert.equal(rows.length, 1);
    assert.equal(sandbox.calls.filter((c) => c.op === "refund" && c.idempotencyKey === `${rows[0]!.id}:refund`).length, 1);
    assert.deepEqual(await movementsOf(a.db, p.id), ["authorization 10000", "capture 10000", "refund 2500"]);
    assert.equal(sandbox.intent(p.providerReference)?.refunded, 2_500n);

    const amount = await rejectionOf(a.client.refundPayment({ ...req, amount: usd(2_000n) }));
    assert.deepEqual([amount.code, amount.violations[0]?.field], [Code.ALREADY_EXISTS, "amount"]);
    const rest = await rejectionOf(a.client.refundPayment({ paymentId: p.id, idempotencyKey: key }));
    assert.deepEqual([rest.code, rest.violations[0]?.field], [Code.ALREADY_EXISTS, "amount"]);
    const elsewhere = await authorizedPayment(a.client, await newShopper(infra.users));
    await a.client.capturePayment({ paymentId: elsewhere.id });
    const otherPayment = await rejectionOf(a.client.refundPayment({ ...req, paymentId: elsewhere.id }));
    assert.deepEqual([otherPayment.code, otherPayment.violations[0]?.field], [Code.ALREADY_EXISTS, "payment_id"]);
    const final = (await a.client.refundPayment(req)).payment!;
    assert.equal(final.refundedAmount?.amountMinor, 2_500n);
    await assertLedgerMatches(a.db, final);
  });

  it("a refund of 'the rest' replays as the same refund, not another one", async () => {
    const p = await authorizedPayment(a.client, await newShopper(infra.users), 4_000n);
    await a.client.capturePayment({ paymentId: p.id });
    await a.client.refundPayment({ paymentId: p.id, amount: usd(1_000n), idempotencyKey: randomUUID() });
    const key = randomUUID();
    const first = (await a.client.refundPayment({ paymentId: p.id, idempotencyKey: key })).payment!;
    const again = (await b.client.refundPayment({ paymentId: p.id, idempotencyKey: key })).payment!;
    assert.deepEqual([first.status, again.status, again.refundedAmount?.amountMinor], [PaymentStatus.REFUNDED, PaymentStatus.REFUNDED, 4_000n]);
    assert.deepEqual(await movementsOf(a.db, p.id), ["authorization 4000", "capture 4000", "refund 1000", "refund 3000"]);
  });
});
