// The Stripe adapter against a local Stripe stub (stripe-stub.ts): the requests it sends
// (method, path, form fields, Idempotency-Key, Bearer key), how Stripe's answers and errors map
// to ours, and the whole service with PAYMENT_PROVIDER=stripe, including a request that times
// out and is settled by a retry without a second PaymentIntent.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { PaymentStatus } from "../../../gen/shop/payment/v1/payment_pb.js";
import { Code } from "../../../platform/errors.js";
import { ProviderError, type PaymentProvider, type TokenizedCard } from "../providers/provider.js";
import { createStripeProvider } from "../providers/stripe.js";
import { assertLedgerMatches, authorizeRequest, movementsOf, newShopper, rejectionOf, saveCard, startInfra, startPayment, usd, type RunningPayment } from "./helpers.js";
import { startStripeStub, STUB_KEY, type StripeStub, type StubRequest } from "./stripe-stub.js";

const USD = (amountMinor: bigint) => ({ amountMinor, currency: "USD" });
const card = (number: string) => ({ number, expMonth: 12, expYear: 2034, cvc: "314", holderName: "Ada Lovelace" });

describe("Stripe adapter (local Stripe stub)", () => {
  let stub: StripeStub;
  let stripe: PaymentProvider;

  before(async () => {
    stub = await startStripeStub();
    stripe = createStripeProvider({ apiKey: STUB_KEY, apiBase: stub.url, timeoutMs: 2_000 });
  });
  after(async () => {
    await stub?.stop();
  });
  const since = (mark: number) => stub.requests.slice(mark);
  const post = (r: StubRequest) => {
    assert.equal(r.method, "POST");
    assert.equal(r.authorization, `Bearer ${STUB_KEY}`);
    assert.equal(r.contentType, "application/x-www-form-urlencoded");
    assert.ok(r.idempotencyKey, "every POST carries an Idempotency-Key");
  };
  /** A card saved for a new user. */
  const saved = (number = "4242424242424242") => stripe.tokenize(card(number), { userId: randomUUID(), customerReference: undefined });
  const authorizeOn = (s: TokenizedCard, idempotencyKey: string, amountMinor = 1_000n) =>
    stripe.authorize({ idempotencyKey, token: s.token, customerReference: s.customerReference, amount: USD(amountMinor), paymentId: "p", orderId: "o" });

  it("tokenizes a card with POST /v1/payment_methods and attaches it to the user's Customer, created once", async () => {
    const userId = randomUUID();
    const mark = stub.requests.length;
    const first = await stripe.tokenize(card("4242424242424242"), { userId, customerReference: undefined });
    assert.match(first.token, /^pm_/);
    assert.match(first.customerReference ?? "", /^cus_/);
    assert.deepEqual([first.brand, first.last4, first.expMonth, first.expYear], ["visa", "4242", 12, 2034]);
    const [customer, pm, attach] = since(mark) as [StubRequest, StubRequest, StubRequest];
    for (const r of [customer, pm, attach]) post(r);
    assert.deepEqual([customer.path, customer.idempotencyKey, customer.form], ["/v1/customers", `customer:${userId}`, { "metadata[user_id]": userId }]);
    assert.equal(pm.path, "/v1/payment_methods");
    assert.deepEqual(pm.form, {
      type: "card",
      "card[number]": "4242424242424242",
      "card[exp_month]": "12",
      "card[exp_year]": "2034",
      "card[cvc]": "314",
      "billing_details[name]": "Ada Lovelace",
    });
    assert.deepEqual([attach.path, attach.form], [`/v1/payment_methods/${first.token}/attach`, { customer: first.customerReference }]);

    // The user's second card goes to the same Customer, without creating another.
    const before = stub.requests.length;
    const second = await stripe.tokenize(card("5555555555554444"), { userId, customerReference: first.customerReference });
    assert.equal(second.customerReference, first.customerReference);
    assert.deepEqual(since(before).map((r) => r.path), ["/v1/payment_methods", `/v1/payment_methods/${second.token}/attach`]);
    assert.equal([...stub.customers.values()].filter((u) => u === userId).length, 1);

    await assert.rejects(saved("4242424242424241"), (err: ProviderError) => err.kind === "rejected" && err.field === "card_number" && err.code === "incorrect_number");
  });

  it("authorizes with a manual-capture PaymentIntent, then confirms it, each with its own idempotency key", async () => {
    const s = await saved();
    const mark = stub.requests.length;
    const result = await stripe.authorize({ idempotencyKey: "pay-1:authorize", token: s.token, customerReference: s.customerReference, amount: USD(2_599n), paymentId: "pay-1", orderId: "order-1" });
    assert.equal(result.outcome, "authorized");
    const [create, confirm] = since(mark) as [StubRequest, StubRequest];
    post(create);
    assert.equal(create.path, "/v1/payment_intents");
    assert.equal(create.idempotencyKey, "pay-1:authorize:create");
    assert.deepEqual(create.form, {
      amount: "2599",
      currency: "usd",
      payment_method: s.token,
      customer: s.customerReference,
      capture_method: "manual",
      "payment_method_types[]": "card",
      "metadata[payment_id]": "pay-1",
      "metadata[order_id]": "order-1",
    });
    post(confirm);
    assert.equal(confirm.path, `/v1/payment_intents/${result.reference}/confirm`);
    assert.equal(confirm.idempotencyKey, "pay-1:authorize:confirm");
    assert.deepEqual(confirm.form, { error_on_requires_action: "true" });
    assert.equal(stub.intents.get(result.reference)?.status, "requires_capture");
    // A saved (attached) card pays again.
    assert.equal((await authorizeOn(s, "pay-1b")).outcome, "authorized");
  });

  it("maps declines (card_error with decline codes, 3-D Secure required) to declined outcomes, not errors", async () => {
    for (const [number, code] of [
      ["4000000000009995", "insufficient_funds"],
      ["4000000000000002", "card_declined"],
      ["4000002760003184", "authentication_required"],
    ] as const) {
      const result = await authorizeOn(await saved(number), randomUUID(), 100n);
      assert.deepEqual(result.outcome === "declined" ? [result.code, stub.intents.get(result.reference)?.status] : result, [code, "requires_payment_method"]);
    }
  });

  it("captures, cancels, refunds and detaches with the operation's idempotency key", async () => {
    const s = await saved();
    const held = await authorizeOn(s, "a", 5_000n);
    const mark = stub.requests.length;
    const charge = await stripe.capture({ idempotencyKey: "pay-2:capture", reference: held.reference, amount: USD(4_000n) });
    assert.match(charge, /^ch_/);
    const refund = await stripe.refund({ idempotencyKey: "ref-1:refund", reference: held.reference, amount: USD(1_500n), reason: "damaged in transit" });
    assert.match(refund, /^re_/);
    const [capture, refundReq] = since(mark) as [StubRequest, StubRequest];
    post(capture);
    assert.deepEqual([capture.path, capture.idempotencyKey, capture.form], [`/v1/payment_intents/${held.reference}/capture`, "pay-2:capture", { amount_to_capture: "4000" }]);
    post(refundReq);
    assert.deepEqual([refundReq.path, refundReq.idempotencyKey, refundReq.form], [
      "/v1/refunds",
      "ref-1:refund",
      { payment_intent: held.reference, amount: "1500", "metadata[reason]": "damaged in transit" },
    ]);
    // Over the captured amount: Stripe's invalid_request_error is a refusal.
    await assert.rejects(stripe.refund({ idempotencyKey: "ref-2", reference: held.reference, amount: USD(2_501n), reason: "" }), (err: ProviderError) => err.kind === "rejected" && err.code === "amount_too_large");

    const other = await authorizeOn(s, "b", 700n);
    const before = stub.requests.length;
    await stripe.void({ idempotencyKey: "pay-3:void", reference: other.reference });
    await stripe.forget(s.token);
    const [cancel, detach] = since(before) as [StubRequest, StubRequest];
    post(cancel);
    assert.deepEqual([cancel.path, cancel.idempotencyKey], [`/v1/payment_intents/${other.reference}/cancel`, "pay-3:void"]);
    assert.equal(stub.intents.get(other.reference)?.status, "canceled");
    post(detach);
    assert.deepEqual([detach.path, detach.idempotencyKey], [`/v1/payment_methods/${s.token}/detach`, `${s.token}:detach`]);
    await assert.rejects(stripe.capture({ idempotencyKey: "late", reference: other.reference, amount: USD(700n) }), (err: ProviderError) => err.code === "payment_intent_unexpected_state");
  });

  it("treats a wrong key as misconfigured, server errors and timeouts as unknown outcomes", async () => {
    const owner = { userId: randomUUID(), customerReference: undefined };
    const wrongKey = createStripeProvider({ apiKey: "sk_test_wrong", apiBase: stub.url, timeoutMs: 2_000 });
    await assert.rejects(wrongKey.tokenize(card("4242424242424242"), owner), (err: ProviderError) => err.kind === "misconfigured" && err.outcomeUnknown);

    stub.failNext(/^\/v1\/payment_methods$/, { kind: "status", status: 500 });
    await assert.rejects(stripe.tokenize(card("4242424242424242"), owner), (err: ProviderError) => err.kind === "unavailable" && err.code === "api_error");

    const impatient = createStripeProvider({ apiKey: STUB_KEY, apiBase: stub.url, timeoutMs: 200 });
    stub.failNext(/^\/v1\/payment_methods$/, { kind: "hang" });
    await assert.rejects(impatient.tokenize(card("4242424242424242"), owner), (err: ProviderError) => err.kind === "timeout");

    const nowhere = createStripeProvider({ apiKey: STUB_KEY, apiBase: "http://127.0.0.1:1", timeoutMs: 2_000 });
    await assert.rejects(nowhere.tokenize(card("4242424242424242"), owner), (err: ProviderError) => err.kind === "unavailable" && err.code === "network_error");
  });

  it("settles a lost confirm answer from the PaymentIntent's own status", async () => {
    const s = await saved();
    // The first confirm went through but its answer was lost; the retry's confirm is refused
    // as unexpected (as after Stripe's idempotency window) and the adapter asks the intent.
    stub.failNext(/\/confirm$/, { kind: "status", status: 500 });
    await assert.rejects(authorizeOn(s, "lost", 900n), (err: ProviderError) => err.outcomeUnknown);
    stub.forget("lost:confirm");
    const mark = stub.requests.length;
    const retried = await authorizeOn(s, "lost", 900n);
    assert.equal(retried.outcome, "authorized");
    assert.deepEqual(since(mark).map((r) => `${r.method} ${r.path.replace(retried.reference, "{id}")}`), [
      "POST /v1/payment_intents",
      "POST /v1/payment_intents/{id}/confirm",
      "GET /v1/payment_intents/{id}",
    ]);
    assert.equal([...stub.intents.values()].filter((pi) => pi.id === retried.reference).length, 1);
  });
});

describe("payment service with PAYMENT_PROVIDER=stripe (real PostgreSQL, Stripe stub)", () => {
  let infra: Awaited<ReturnType<typeof startInfra>>;
  let stub: StripeStub;
  let svc: RunningPayment;

  before(async () => {
    [infra, stub] = await Promise.all([startInfra(), startStripeStub()]);
    svc = await startPayment({
      databaseUrl: infra.tdb.url,
      users: infra.users.address,
      env: { PAYMENT_PROVIDER: "stripe", STRIPE_API_KEY: STUB_KEY, STRIPE_API_BASE: stub.url, PAYMENT_PROVIDER_TIMEOUT: "300ms" },
    });
  });
  after(async () => {
    await svc?.stop();
    await stub?.stop();
    await infra?.stop();
  });

  it("saves a card, authorizes, captures and refunds through Stripe, with a balanced ledger", async () => {
    const shopper = await newShopper(infra.users);
    const token = await saveCard(svc.client, shopper);
    assert.match(token, /^pm_/);
    const p = (await svc.client.authorizePayment(authorizeRequest({ shopper, token, amount: 4_200n }))).payment!;
    assert.deepEqual([p.status, p.provider], [PaymentStatus.AUTHORIZED, "stripe"]);
    assert.match(p.providerReference, /^pi_/);
    const create = stub.requests.find((r) => r.path === "/v1/payment_intents" && r.form["metadata[payment_id]"] === p.id);
    assert.deepEqual([create?.idempotencyKey, create?.form["metadata[order_id]"]], [`${p.id}:authorize:create`, p.orderId]);

    await svc.client.capturePayment({ paymentId: p.id, amount: usd(4_000n) });
    assert.equal(stub.intents.get(p.providerReference)?.amount_received, 4_000);
    const refunded = (await svc.client.refundPayment({ paymentId: p.id, amount: usd(1_000n), idempotencyKey: randomUUID() })).payment!;
    assert.equal(refunded.status, PaymentStatus.PARTIALLY_REFUNDED);
    assert.deepEqual(await movementsOf(svc.db, p.id), ["authorization 4200", "capture 4000", "void 200", "refund 1000"]);
    await assertLedgerMatches(svc.db, refunded);
  });

  it("keeps one Stripe Customer per shopper, so a saved card pays for more than one order; deleting detaches it", async () => {
    const shopper = await newShopper(infra.users);
    const first = await saveCard(svc.client, shopper);
    const second = await saveCard(svc.client, shopper, "5555555555554444");
    const customers = [...stub.customers.entries()].filter(([, user]) => user === shopper.id);
    assert.equal(customers.length, 1);
    const { rows } = await svc.db.query<{ reference: string }>("SELECT reference FROM provider_customers WHERE user_id = $1", [shopper.id]);
    assert.deepEqual(rows.map((r) => r.reference), [customers[0]![0]]);
    for (let order = 0; order < 2; order++) {
      const p = (await svc.client.authorizePayment(authorizeRequest({ shopper, token: first }))).payment!;
      assert.equal(p.status, PaymentStatus.AUTHORIZED);
    }
    await svc.client.deletePaymentMethod({ token: second }, shopper.call);
    assert.ok(stub.requests.some((r) => r.path === `/v1/payment_methods/${second}/detach`));
    assert.deepEqual((await svc.client.listPaymentMethods({}, shopper.call)).paymentMethods.map((m) => m.token), [first]);
  });

  it("records a Stripe decline as a FAILED payment", async () => {
    const shopper = await newShopper(infra.users);
    const token = await saveCard(svc.client, shopper, "4000000000009995");
    const p = (await svc.client.authorizePayment(authorizeRequest({ shopper, token }))).payment!;
    assert.deepEqual([p.status, p.failureReason], [PaymentStatus.FAILED, "insufficient funds"]);
    assert.match(p.providerReference, /^pi_/);
  });

  it("turns Stripe's card-number complaint into INVALID_ARGUMENT on card_number", async () => {
    const shopper = await newShopper(infra.users);
    const err = await rejectionOf(svc.client.createPaymentMethod({ cardNumber: "4242424242424241", expMonth: 1, expYear: 2099, cvc: "123", cardholderName: "T" }, shopper.call));
    assert.deepEqual([err.code, err.violations[0]?.field], [Code.INVALID_ARGUMENT, "card_number"]);
  });

  it("leaves an authorization whose answer timed out pending; the retry creates no second PaymentIntent", async () => {
    const shopper = await newShopper(infra.users);
    const token = await saveCard(svc.client, shopper);
    const req = authorizeRequest({ shopper, token, amount: 1_234n });
    stub.failNext(/\/confirm$/, { kind: "hang" });
    assert.equal((await rejectionOf(svc.once.authorizePayment(req))).code, Code.UNAVAILABLE);
    const { rows } = await svc.db.query<{ id: string; status: string }>("SELECT id, status FROM payments WHERE idempotency_key = $1", [req.idempotencyKey]);
    assert.deepEqual(rows.map((r) => r.status), ["pending"]);

    const p = (await svc.once.authorizePayment(req)).payment!;
    assert.deepEqual([p.id, p.status], [rows[0]!.id, PaymentStatus.AUTHORIZED]);
    const creates = stub.requests.filter((r) => r.path === "/v1/payment_intents" && r.form["metadata[payment_id]"] === p.id);
    assert.equal(creates.length, 2, "asked twice");
    assert.deepEqual(new Set(creates.map((r) => r.idempotencyKey)), new Set([`${p.id}:authorize:create`]));
    assert.equal([...stub.intents.values()].filter((pi) => pi.metadata["payment_id"] === p.id).length, 1, "one PaymentIntent at Stripe");
    assert.deepEqual(await movementsOf(svc.db, p.id), ["authorization 1234"]);
  });
});
