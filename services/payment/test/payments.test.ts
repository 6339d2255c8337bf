// The payment service on a real port and real PostgreSQL with the sandbox provider: the
// lifecycle (authorize, capture, void, refund), declines, provider timeouts settled by a retry,
// ownership and access levels, and the ledger checked against every payment it touched.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  PaymentAuthorizedSchema,
  PaymentCapturedSchema,
  PaymentFailedSchema,
  PaymentRefundedSchema,
  PaymentVoidedSchema,
} from "../../../gen/shop/payment/v1/events_pb.js";
import { LedgerEntryKind, PaymentStatus, type Payment } from "../../../gen/shop/payment/v1/payment_pb.js";
import { Code } from "../../../platform/errors.js";
import { createSandboxProvider, type SandboxProvider } from "../providers/sandbox.js";
import {
  adminCall,
  assertLedgerMatches,
  authorizedPayment,
  authorizeRequest,
  CARDS,
  eventsOf,
  eventTypesOf,
  movementsOf,
  newShopper,
  rejectionOf,
  saveCard,
  startInfra,
  startPayment,
  usd,
  type PaymentClient,
  type RunningPayment,
} from "./helpers.js";

const EVENTS = [PaymentAuthorizedSchema, PaymentCapturedSchema, PaymentFailedSchema, PaymentVoidedSchema, PaymentRefundedSchema];

describe("payment service (real PostgreSQL, sandbox provider)", () => {
  let infra: Awaited<ReturnType<typeof startInfra>>;
  let sandbox: SandboxProvider;
  let svc: RunningPayment;
  let client: PaymentClient;
  /** Payments a test touched: the ledger must agree with each of them after the test. */
  let touched: string[];

  before(async () => {
    infra = await startInfra();
    sandbox = createSandboxProvider();
    svc = await startPayment({ databaseUrl: infra.tdb.url, users: infra.users.address, provider: sandbox });
    client = svc.client;
  });
  after(async () => {
    await svc?.stop();
    await infra?.stop();
  });
  beforeEach(() => void (touched = []));
  afterEach(async function () {
    if (this.currentTest?.state !== "passed") return;
    const admin = await adminCall(infra.users);
    for (const id of touched) await assertLedgerMatches(svc.db, (await client.getPayment({ paymentId: id }, admin)).payment!);
  });
  const track = (p: Payment) => {
    touched.push(p.id);
    return p;
  };

  describe("authorize and capture", () => {
    it("holds the amount, captures it, records both movements and emits both events", async () => {
      const shopper = await newShopper(infra.users);
      const token = await saveCard(client, shopper);
      const req = authorizeRequest({ shopper, token, amount: 12_345n });
      const authorized = track((await client.authorizePayment(req)).payment!);
      assert.equal(authorized.status, PaymentStatus.AUTHORIZED);
      assert.deepEqual([authorized.orderId, authorized.userId, authorized.amount?.amountMinor], [req.orderId, shopper.id, 12_345n]);
      assert.deepEqual([authorized.cardBrand, authorized.cardLast4, authorized.provider], ["visa", "4242", "sandbox"]);
      assert.match(authorized.providerReference, /^sbx_pi_/);
      assert.equal(sandbox.intent(authorized.providerReference)?.status, "authorized");

      const captured = (await client.capturePayment({ paymentId: authorized.id })).payment!;
      assert.equal(captured.status, PaymentStatus.CAPTURED);
      assert.equal(captured.capturedAmount?.amountMinor, 12_345n);
      assert.equal(sandbox.intent(authorized.providerReference)?.captured, 12_345n);
      assert.deepEqual(await movementsOf(svc.db, authorized.id), ["authorization 12345", "capture 12345"]);
      assert.deepEqual(await eventTypesOf(svc.db, EVENTS, authorized.id), ["PaymentAuthorized", "PaymentCaptured"]);
      const [event] = await eventsOf(svc.db, PaymentCapturedSchema, authorized.id);
      assert.deepEqual([event?.orderId, event?.userId, event?.amount?.amountMinor, event?.amount?.currencyCode], [req.orderId, shopper.id, 12_345n, "USD"]);

      // Capturing again is a no-op: no provider call, no movement, no event.
      const calls = sandbox.calls.length;
      assert.equal((await client.capturePayment({ paymentId: authorized.id })).payment!.status, PaymentStatus.CAPTURED);
      assert.equal((await client.capturePayment({ paymentId: authorized.id, amount: usd(12_345n) })).payment!.status, PaymentStatus.CAPTURED);
      assert.equal(sandbox.calls.length, calls);
      assert.equal((await movementsOf(svc.db, authorized.id)).length, 2);
    });

    it("captures part of the authorization and releases the rest at once", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users), 10_000n));
      const captured = (await client.capturePayment({ paymentId: p.id, amount: usd(7_500n) })).payment!;
      assert.deepEqual([captured.status, captured.capturedAmount?.amountMinor, captured.amount?.amountMinor], [PaymentStatus.CAPTURED, 7_500n, 10_000n]);
      assert.deepEqual(await movementsOf(svc.db, p.id), ["authorization 10000", "capture 7500", "void 2500"]);
      // The same capture again is a no-op; another amount is refused, naming the field.
      await client.capturePayment({ paymentId: p.id, amount: usd(7_500n) });
      const other = await rejectionOf(client.capturePayment({ paymentId: p.id, amount: usd(9_000n) }));
      assert.equal(other.code, Code.FAILED_PRECONDITION);
      assert.equal(other.violations[0]?.field, "amount");
    });

    it("refuses to capture more than authorized, or in another currency, and changes nothing", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users), 5_000n));
      const more = await rejectionOf(client.capturePayment({ paymentId: p.id, amount: usd(5_001n) }));
      assert.deepEqual([more.code, more.violations[0]?.field], [Code.FAILED_PRECONDITION, "amount"]);
      const eur = await rejectionOf(client.capturePayment({ paymentId: p.id, amount: { amountMinor: 100n, currencyCode: "EUR" } }));
      assert.deepEqual([eur.code, eur.violations[0]?.field], [Code.INVALID_ARGUMENT, "amount.currency_code"]);
      assert.deepEqual(await movementsOf(svc.db, p.id), ["authorization 5000"]);
      assert.equal((await rejectionOf(client.capturePayment({ paymentId: randomUUID() }))).code, Code.NOT_FOUND);
    });
  });

  describe("declines", () => {
    for (const [card, reason, code] of [
      [CARDS.declined, "card declined", "card_declined"],
      [CARDS.insufficientFunds, "insufficient funds", "insufficient_funds"],
      [CARDS.threeDSecure, "3-D Secure", "authentication_required"],
    ] as const) {
      it(`answers FAILED, not an error, for ${code}; nothing can be captured`, async () => {
        const shopper = await newShopper(infra.users);
        const token = await saveCard(client, shopper, card);
        const failed = track((await client.authorizePayment(authorizeRequest({ shopper, token, amount: 4_200n }))).payment!);
        assert.equal(failed.status, PaymentStatus.FAILED);
        assert.ok(failed.failureReason.includes(reason), failed.failureReason);
        assert.equal(failed.capturedAmount?.amountMinor, 0n);
        const [event] = await eventsOf(svc.db, PaymentFailedSchema, failed.id);
        assert.equal(event?.reason, failed.failureReason);

        const capture = await rejectionOf(client.capturePayment({ paymentId: failed.id }));
        assert.equal(capture.code, Code.FAILED_PRECONDITION);
        assert.equal((await rejectionOf(client.voidPayment({ paymentId: failed.id }))).code, Code.FAILED_PRECONDITION);
        assert.equal((await rejectionOf(client.refundPayment({ paymentId: failed.id, idempotencyKey: randomUUID() }))).code, Code.FAILED_PRECONDITION);
        // On record, but no money moved: one FAILURE entry without postings.
        assert.deepEqual(await movementsOf(svc.db, failed.id), ["failure 4200"]);
        const { rows } = await svc.db.query("SELECT 1 FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.transaction_id WHERE t.payment_id = $1", [failed.id]);
        assert.equal(rows.length, 0);
      });
    }

    it("lets the order try again with a new key after a decline, but holds one live payment per order", async () => {
      const shopper = await newShopper(infra.users);
      const orderId = randomUUID();
      const declined = await saveCard(client, shopper, CARDS.declined);
      const good = await saveCard(client, shopper, CARDS.mastercard);
      track((await client.authorizePayment(authorizeRequest({ shopper, token: declined, orderId, key: `${orderId}-1` }))).payment!);
      const second = track((await client.authorizePayment(authorizeRequest({ shopper, token: good, orderId, key: `${orderId}-2` }))).payment!);
      assert.deepEqual([second.status, second.cardBrand], [PaymentStatus.AUTHORIZED, "mastercard"]);
      const third = await rejectionOf(client.authorizePayment(authorizeRequest({ shopper, token: good, orderId, key: `${orderId}-3` })));
      assert.equal(third.code, Code.FAILED_PRECONDITION);
      assert.match(third.message, new RegExp(`already has a live payment \\(${second.id}, authorized\\)`));
    });
  });

  describe("void", () => {
    it("releases the hold once; then capture and refund are refused", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users), 3_000n));
      const voided = (await client.voidPayment({ paymentId: p.id, reason: "stock could not be reserved" })).payment!;
      assert.equal(voided.status, PaymentStatus.VOIDED);
      assert.equal(sandbox.intent(p.providerReference)?.status, "voided");
      assert.equal((await client.voidPayment({ paymentId: p.id })).payment!.status, PaymentStatus.VOIDED, "voiding again is a no-op");
      assert.equal((await rejectionOf(client.capturePayment({ paymentId: p.id }))).code, Code.FAILED_PRECONDITION);
      assert.deepEqual(await movementsOf(svc.db, p.id), ["authorization 3000", "void 3000"]);
      assert.deepEqual(await eventTypesOf(svc.db, EVENTS, p.id), ["PaymentAuthorized", "PaymentVoided"]);
    });

    it("is refused once captured: refund instead", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users)));
      await client.capturePayment({ paymentId: p.id });
      const err = await rejectionOf(client.voidPayment({ paymentId: p.id }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /refund/);
    });
  });

  describe("refunds", () => {
    it("refunds in parts, then the rest, and refuses a refund beyond what is left", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users), 10_000n));
      await client.capturePayment({ paymentId: p.id });
      const first = (await client.refundPayment({ paymentId: p.id, amount: usd(2_500n), idempotencyKey: randomUUID(), reason: "one item returned" })).payment!;
      assert.deepEqual([first.status, first.refundedAmount?.amountMinor], [PaymentStatus.PARTIALLY_REFUNDED, 2_500n]);
      const second = (await client.refundPayment({ paymentId: p.id, amount: usd(1_000n), idempotencyKey: randomUUID() })).payment!;
      assert.equal(second.refundedAmount?.amountMinor, 3_500n);

      const over = await rejectionOf(client.refundPayment({ paymentId: p.id, amount: usd(6_501n), idempotencyKey: randomUUID() }));
      assert.deepEqual([over.code, over.violations[0]?.field], [Code.FAILED_PRECONDITION, "amount"]);
      assert.match(over.message, /USD 65\.00/);

      const rest = (await client.refundPayment({ paymentId: p.id, idempotencyKey: randomUUID() })).payment!;
      assert.deepEqual([rest.status, rest.refundedAmount?.amountMinor], [PaymentStatus.REFUNDED, 10_000n]);
      assert.equal(sandbox.intent(p.providerReference)?.refunded, 10_000n);
      const nothing = await rejectionOf(client.refundPayment({ paymentId: p.id, amount: usd(1n), idempotencyKey: randomUUID() }));
      assert.equal(nothing.code, Code.FAILED_PRECONDITION);

      assert.deepEqual(await movementsOf(svc.db, p.id), ["authorization 10000", "capture 10000", "refund 2500", "refund 1000", "refund 6500"]);
      const events = await eventsOf(svc.db, PaymentRefundedSchema, p.id);
      assert.deepEqual(events.map((e) => [e.amount?.amountMinor, e.refundedTotal?.amountMinor]), [[2_500n, 2_500n], [1_000n, 3_500n], [6_500n, 10_000n]]);
    });

    it("refunds at most what was captured, after a partial capture", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users), 10_000n));
      await client.capturePayment({ paymentId: p.id, amount: usd(4_000n) });
      assert.equal((await rejectionOf(client.refundPayment({ paymentId: p.id, amount: usd(4_001n), idempotencyKey: randomUUID() }))).code, Code.FAILED_PRECONDITION);
      const all = (await client.refundPayment({ paymentId: p.id, idempotencyKey: randomUUID() })).payment!;
      assert.deepEqual([all.status, all.refundedAmount?.amountMinor], [PaymentStatus.REFUNDED, 4_000n]);
    });

    it("refuses a refund of a payment that was not captured", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users)));
      assert.equal((await rejectionOf(client.refundPayment({ paymentId: p.id, idempotencyKey: randomUUID() }))).code, Code.FAILED_PRECONDITION);
      assert.deepEqual(await movementsOf(svc.db, p.id), ["authorization 10000"]);
    });

    it("never refunds more than captured under concurrent refunds with different keys", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users), 10_000n));
      await client.capturePayment({ paymentId: p.id });
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, () => client.refundPayment({ paymentId: p.id, amount: usd(1_000n), idempotencyKey: randomUUID() })),
      );
      const ok = results.filter((r) => r.status === "fulfilled").length;
      const refused = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as { code?: number }).code] : []));
      assert.equal(ok, 10);
      assert.deepEqual(refused, [Code.FAILED_PRECONDITION, Code.FAILED_PRECONDITION]);
      const after = (await client.getPayment({ paymentId: p.id }, await adminCall(infra.users))).payment!;
      assert.deepEqual([after.status, after.refundedAmount?.amountMinor], [PaymentStatus.REFUNDED, 10_000n]);
      assert.equal(sandbox.intent(p.providerReference)?.refunded, 10_000n);
    });
  });

  describe("provider timeouts", () => {
    it("leaves a timed-out authorization pending, and a retry with the same key settles it without a second hold", async () => {
      const shopper = await newShopper(infra.users);
      const token = await saveCard(client, shopper, CARDS.timeout);
      const req = authorizeRequest({ shopper, token, amount: 2_000n });
      const err = await rejectionOf(svc.once.authorizePayment(req));
      assert.equal(err.code, Code.UNAVAILABLE);
      assert.match(err.message, /retry/);

      // The attempt was recorded before the provider was called, and nothing moved yet.
      const { rows } = await svc.db.query<{ id: string; status: string }>("SELECT id, status FROM payments WHERE idempotency_key = $1", [req.idempotencyKey]);
      assert.deepEqual(rows.map((r) => r.status), ["pending"]);
      const id = rows[0]!.id;
      const pending = (await client.getPayment({ paymentId: id }, await adminCall(infra.users))).payment!;
      assert.equal(pending.status, PaymentStatus.PENDING);
      assert.deepEqual(await movementsOf(svc.db, id), []);

      const settled = track((await svc.once.authorizePayment(req)).payment!);
      assert.deepEqual([settled.id, settled.status], [id, PaymentStatus.AUTHORIZED]);
      const asked = sandbox.calls.filter((c) => c.op === "authorize" && c.idempotencyKey.startsWith(id));
      assert.equal(asked.length, 2, "asked twice, with one key");
      assert.equal(new Set(asked.map((c) => c.idempotencyKey)).size, 1);
      assert.deepEqual(await movementsOf(svc.db, id), ["authorization 2000"]);
      assert.deepEqual(await eventTypesOf(svc.db, EVENTS, id), ["PaymentAuthorized"]);
    });

    it("settles timed-out captures and refunds on retry, and the client's own retry does it transparently", async () => {
      const shopper = await newShopper(infra.users);
      const token = await saveCard(client, shopper, CARDS.timeout);
      // The default client retries UNAVAILABLE for IDEMPOTENT methods: the caller just sees the result.
      const p = track((await client.authorizePayment(authorizeRequest({ shopper, token, amount: 5_000n }))).payment!);
      assert.equal(p.status, PaymentStatus.AUTHORIZED);

      assert.equal((await rejectionOf(svc.once.capturePayment({ paymentId: p.id, amount: usd(4_000n) }))).code, Code.UNAVAILABLE);
      const { rows } = await svc.db.query<{ pending_op: string; pending: string }>("SELECT pending_op, pending_amount_minor::text AS pending FROM payments WHERE id = $1", [p.id]);
      assert.deepEqual(rows, [{ pending_op: "capture", pending: "4000" }]);
      // A retry asking for another amount cannot change what was already asked of the provider.
      const differently = await rejectionOf(svc.once.capturePayment({ paymentId: p.id, amount: usd(4_500n) }));
      assert.equal(differently.code, Code.FAILED_PRECONDITION);
      const captured = (await svc.once.capturePayment({ paymentId: p.id, amount: usd(4_000n) })).payment!;
      assert.deepEqual([captured.status, captured.capturedAmount?.amountMinor], [PaymentStatus.CAPTURED, 4_000n]);

      const key = randomUUID();
      assert.equal((await rejectionOf(svc.once.refundPayment({ paymentId: p.id, amount: usd(1_500n), idempotencyKey: key }))).code, Code.UNAVAILABLE);
      const refunded = (await svc.once.refundPayment({ paymentId: p.id, amount: usd(1_500n), idempotencyKey: key })).payment!;
      assert.equal(refunded.refundedAmount?.amountMinor, 1_500n);
      assert.equal(sandbox.intent(p.providerReference)?.refunded, 1_500n);
      assert.deepEqual(await movementsOf(svc.db, p.id), ["authorization 5000", "capture 4000", "void 1000", "refund 1500"]);
    });

    it("lets a void settle a pending authorization first (checkout compensation after a timeout)", async () => {
      const shopper = await newShopper(infra.users);
      const token = await saveCard(client, shopper, CARDS.timeout);
      const req = authorizeRequest({ shopper, token, amount: 700n });
      await rejectionOf(svc.once.authorizePayment(req));
      const { rows } = await svc.db.query<{ id: string }>("SELECT id FROM payments WHERE idempotency_key = $1", [req.idempotencyKey]);
      const voided = track((await client.voidPayment({ paymentId: rows[0]!.id, reason: "checkout abandoned" })).payment!);
      assert.equal(voided.status, PaymentStatus.VOIDED);
      assert.deepEqual(await movementsOf(svc.db, voided.id), ["authorization 700", "void 700"]);
    });
  });

  describe("payment methods and who may call what", () => {
    it("saves cards per shopper, lists them newest first in pages, and deletes only the caller's", async () => {
      const shopper = await newShopper(infra.users);
      const other = await newShopper(infra.users);
      const tokens = [];
      for (const n of [CARDS.visa, CARDS.mastercard, CARDS.declined]) tokens.push(await saveCard(client, shopper, n));
      const page1 = await client.listPaymentMethods({ pageSize: 2 }, shopper.call);
      const page2 = await client.listPaymentMethods({ pageSize: 2, pageToken: page1.nextPageToken }, shopper.call);
      assert.deepEqual([...page1.paymentMethods, ...page2.paymentMethods].map((m) => m.token), [...tokens].reverse());
      assert.equal(page2.nextPageToken, "");
      assert.deepEqual(page1.paymentMethods.map((m) => [m.brand, m.last4]), [["visa", "0002"], ["mastercard", "4444"]]);
      assert.equal((await client.listPaymentMethods({}, other.call)).paymentMethods.length, 0);

      await client.deletePaymentMethod({ token: tokens[0]! }, other.call); // not theirs: nothing happens
      assert.equal((await client.listPaymentMethods({}, shopper.call)).paymentMethods.length, 3);
      await client.deletePaymentMethod({ token: tokens[0]! }, shopper.call);
      await client.deletePaymentMethod({ token: tokens[0]! }, shopper.call); // idempotent
      assert.equal((await client.listPaymentMethods({}, shopper.call)).paymentMethods.length, 2);
      const bad = await rejectionOf(client.listPaymentMethods({ pageToken: "nonsense" }, shopper.call));
      assert.deepEqual([bad.code, bad.violations[0]?.field], [Code.INVALID_ARGUMENT, "page_token"]);
    });

    it("refuses a card number that fails the checksum, or an expired card, naming the field", async () => {
      const shopper = await newShopper(infra.users);
      const luhn = await rejectionOf(client.createPaymentMethod({ cardNumber: "4242424242424241", expMonth: 1, expYear: 2099, cvc: "123", cardholderName: "T" }, shopper.call));
      assert.deepEqual([luhn.code, luhn.violations[0]?.field], [Code.INVALID_ARGUMENT, "card_number"]);
      const expired = await rejectionOf(client.createPaymentMethod({ cardNumber: CARDS.visa, expMonth: 1, expYear: 2001, cvc: "123", cardholderName: "T" }, shopper.call));
      assert.deepEqual([expired.code, expired.violations[0]?.field], [Code.INVALID_ARGUMENT, "exp_year"]);
    });

    it("authorizes only a payment method of the customer named in the request", async () => {
      const alice = await newShopper(infra.users);
      const bob = await newShopper(infra.users);
      const alices = await saveCard(client, alice);
      const err = await rejectionOf(client.authorizePayment(authorizeRequest({ shopper: bob, token: alices })));
      assert.equal(err.code, Code.PERMISSION_DENIED);
      assert.equal((await rejectionOf(client.authorizePayment(authorizeRequest({ shopper: bob, token: "tok_visa_000000000000000000000000" })))).code, Code.NOT_FOUND);
      const { rows } = await svc.db.query("SELECT 1 FROM payments WHERE user_id = $1", [bob.id]);
      assert.equal(rows.length, 0);
    });

    it("enforces the contract's access levels: USER needs a token, ADMIN the admin role", async () => {
      const shopper = await newShopper(infra.users);
      const p = track(await authorizedPayment(client, shopper));
      assert.equal((await rejectionOf(client.listPaymentMethods({}))).code, Code.UNAUTHENTICATED);
      assert.equal((await rejectionOf(client.getPayment({ paymentId: p.id }, shopper.call))).code, Code.PERMISSION_DENIED);
      assert.equal((await rejectionOf(client.listLedgerEntries({}, shopper.call))).code, Code.PERMISSION_DENIED);
      assert.equal((await client.getPayment({ paymentId: p.id }, await adminCall(infra.users))).payment!.id, p.id);
    });
  });

  describe("a changed PAYMENT_PROVIDER", () => {
    it("refuses to move money of a payment made through another provider, recording nothing", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users)));
      const other = await startPayment({
        databaseUrl: infra.tdb.url,
        users: infra.users.address,
        env: { PAYMENT_PROVIDER: "stripe", STRIPE_API_KEY: "sk_test_unused", STRIPE_API_BASE: "http://127.0.0.1:1" },
      });
      try {
        for (const call of [other.client.capturePayment({ paymentId: p.id }), other.client.voidPayment({ paymentId: p.id })]) {
          const err = await rejectionOf(call);
          assert.equal(err.code, Code.FAILED_PRECONDITION);
          assert.match(err.message, /made through sandbox, but this service runs stripe/);
        }
      } finally {
        await other.stop();
      }
      const { rows } = await svc.db.query("SELECT pending_op FROM payments WHERE id = $1", [p.id]);
      assert.deepEqual(rows, [{ pending_op: null }]);
      assert.deepEqual(await movementsOf(svc.db, p.id), ["authorization 10000"]);
    });
  });

  describe("the ledger", () => {
    it("lists movements oldest first, filtered by payment or order, in pages", async () => {
      const shopper = await newShopper(infra.users);
      const p = track(await authorizedPayment(client, shopper, 9_000n));
      await client.capturePayment({ paymentId: p.id, amount: usd(8_000n) });
      const key = randomUUID();
      await client.refundPayment({ paymentId: p.id, amount: usd(500n), idempotencyKey: key });
      const admin = await adminCall(infra.users);
      const page1 = await client.listLedgerEntries({ paymentId: p.id, pageSize: 2 }, admin);
      const page2 = await client.listLedgerEntries({ paymentId: p.id, pageSize: 2, pageToken: page1.nextPageToken }, admin);
      const entries = [...page1.entries, ...page2.entries];
      assert.deepEqual(entries.map((e) => [e.kind, e.amount?.amountMinor]), [
        [LedgerEntryKind.AUTHORIZATION, 9_000n],
        [LedgerEntryKind.CAPTURE, 8_000n],
        [LedgerEntryKind.VOID, 1_000n],
        [LedgerEntryKind.REFUND, 500n],
      ]);
      assert.equal(page2.nextPageToken, "");
      assert.equal(entries[3]?.idempotencyKey, key);
      assert.ok(entries.every((e) => e.orderId === p.orderId && e.providerReference !== ""));
      const byOrder = await client.listLedgerEntries({ orderId: p.orderId }, admin);
      assert.equal(byOrder.entries.length, 4);
    });

    it("is append-only and refuses an unbalanced transaction at commit", async () => {
      const p = track(await authorizedPayment(client, await newShopper(infra.users)));
      await assert.rejects(svc.db.query("UPDATE ledger_transactions SET amount_minor = 1 WHERE payment_id = $1", [p.id]), /append-only/);
      await assert.rejects(svc.db.query("DELETE FROM ledger_postings"), /append-only/);
      await assert.rejects(
        svc.db.tx(async (q) => {
          const id = randomUUID();
          await q.query(
            `INSERT INTO ledger_transactions (id, payment_id, order_id, kind, currency_code, amount_minor, idempotency_key, created_at)
             VALUES ($1, $2, $3, 'capture', 'USD', 100, $4, now())`,
            [id, p.id, p.orderId, randomUUID()],
          );
          await q.query("INSERT INTO ledger_postings VALUES ($1, 'captured', 'debit', 100), ($1, 'authorized', 'credit', 99)", [id]);
        }),
        /does not balance/,
      );
    });
  });
});
