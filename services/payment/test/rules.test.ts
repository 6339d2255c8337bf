// The payment rules in memory: the state machine's allowed transitions, what capture, void and
// refund may do in each state, idempotency conflicts, the ledger's movements, and the sandbox
// provider's test cards and idempotent operations.
import assert from "node:assert/strict";
import { Code, type ShopError } from "../../../platform/errors.js";
import { authorizationMovement, balances, captureMovements, failureMovement, isBalanced, refundMovement, voidMovement } from "../ledger.js";
import { decodeLedgerToken, decodeMethodToken, encodeLedgerToken, encodeMethodToken } from "../page-token.js";
import {
  assertTransition,
  authorizeConflict,
  canTransition,
  planCapture,
  planRefund,
  planVoid,
  refundConflict,
  statusAfterRefund,
  type PaymentFigures,
  type PaymentStatus,
} from "../payment-rules.js";
import { ProviderError } from "../providers/provider.js";
import { createSandboxProvider, luhnValid, SANDBOX_CARDS } from "../providers/sandbox.js";
import { declineCode } from "../providers/stripe.js";

const USD = (amountMinor: bigint) => ({ amountMinor, currency: "USD" });
const payment = (status: PaymentStatus, captured = 0n, refunded = 0n, amount = 10_000n): PaymentFigures => ({
  status,
  amount: USD(amount),
  capturedMinor: captured,
  refundedMinor: refunded,
});
const fails = (code: Code, field?: string) => (err: ShopError) => err.code === code && (field === undefined || err.violations[0]?.field === field);

const ALL: PaymentStatus[] = ["pending", "authorized", "captured", "partially_refunded", "refunded", "voided", "failed"];

describe("payment rules", () => {
  describe("the state machine", () => {
    it("allows exactly the documented transitions", () => {
      const allowed = ALL.flatMap((from) => ALL.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
      assert.deepEqual(allowed, [
        "pending->authorized",
        "pending->failed",
        "authorized->captured",
        "authorized->voided",
        "captured->partially_refunded",
        "captured->refunded",
        "partially_refunded->partially_refunded",
        "partially_refunded->refunded",
      ]);
    });

    it("has no way out of refunded, voided or failed, and none back to pending", () => {
      for (const end of ["refunded", "voided", "failed"] as const) assert.ok(ALL.every((to) => !canTransition(end, to)));
      assert.ok(ALL.every((from) => !canTransition(from, "pending")));
      assert.throws(() => assertTransition("voided", "captured"), /voided to captured/);
      assertTransition("authorized", "captured");
    });

    it("decides the status after a refund from the totals", () => {
      assert.equal(statusAfterRefund(1000n, 400n), "partially_refunded");
      assert.equal(statusAfterRefund(1000n, 1000n), "refunded");
    });
  });

  describe("capture", () => {
    it("captures all by default, or a part, never more than authorized", () => {
      assert.deepEqual(planCapture(payment("authorized"), undefined), { kind: "capture", amountMinor: 10_000n });
      assert.deepEqual(planCapture(payment("authorized"), USD(2_500n)), { kind: "capture", amountMinor: 2_500n });
      assert.throws(() => planCapture(payment("authorized"), USD(10_001n)), fails(Code.FAILED_PRECONDITION, "amount"));
      assert.throws(() => planCapture(payment("authorized"), { amountMinor: 1n, currency: "EUR" }), fails(Code.INVALID_ARGUMENT, "amount.currency_code"));
    });

    it("is a no-op on a captured payment for the same amount or 'all', and refused for another amount", () => {
      for (const status of ["captured", "partially_refunded", "refunded"] as const) {
        assert.deepEqual(planCapture(payment(status, 7_000n), undefined), { kind: "noop" });
        assert.deepEqual(planCapture(payment(status, 7_000n), USD(7_000n)), { kind: "noop" });
        assert.throws(() => planCapture(payment(status, 7_000n), USD(8_000n)), fails(Code.FAILED_PRECONDITION, "amount"));
      }
    });

    it("is refused for voided, failed and unresolved payments", () => {
      for (const status of ["voided", "failed", "pending"] as const) assert.throws(() => planCapture(payment(status), undefined), fails(Code.FAILED_PRECONDITION));
    });
  });

  describe("void", () => {
    it("voids an authorization, repeats as a no-op, and is refused once money was taken or never held", () => {
      assert.deepEqual(planVoid(payment("authorized")), { kind: "void" });
      assert.deepEqual(planVoid(payment("voided")), { kind: "noop" });
      for (const status of ["captured", "partially_refunded", "refunded", "failed", "pending"] as const) {
        assert.throws(() => planVoid(payment(status, 10_000n)), fails(Code.FAILED_PRECONDITION));
      }
      assert.throws(() => planVoid(payment("captured", 10_000n)), /refund it instead/);
    });
  });

  describe("refund", () => {
    it("refunds the rest by default, a part on request, and never more than is left", () => {
      assert.equal(planRefund(payment("captured", 8_000n), 0n, undefined), 8_000n);
      assert.equal(planRefund(payment("partially_refunded", 8_000n, 3_000n), 0n, undefined), 5_000n);
      assert.equal(planRefund(payment("partially_refunded", 8_000n, 3_000n), 0n, USD(5_000n)), 5_000n);
      assert.throws(() => planRefund(payment("partially_refunded", 8_000n, 3_000n), 0n, USD(5_001n)), (err: ShopError) => {
        assert.deepEqual([err.code, err.violations[0]?.field], [Code.FAILED_PRECONDITION, "amount"]);
        assert.match(err.message, /USD 50\.00/);
        return true;
      });
    });

    it("counts refunds still waiting for the provider as taken", () => {
      assert.equal(planRefund(payment("captured", 8_000n), 6_000n, undefined), 2_000n);
      assert.throws(() => planRefund(payment("captured", 8_000n), 6_000n, USD(2_001n)), fails(Code.FAILED_PRECONDITION, "amount"));
      assert.throws(() => planRefund(payment("captured", 8_000n), 8_000n, undefined), /nothing is left/);
    });

    it("refuses payments that were never captured, a fully refunded one, and another currency", () => {
      for (const status of ["pending", "authorized", "voided", "failed"] as const) assert.throws(() => planRefund(payment(status), 0n, undefined), fails(Code.FAILED_PRECONDITION));
      assert.throws(() => planRefund(payment("refunded", 8_000n, 8_000n), 0n, USD(1n)), fails(Code.FAILED_PRECONDITION, "amount"));
      assert.throws(() => planRefund(payment("captured", 8_000n), 0n, { amountMinor: 1n, currency: "EUR" }), fails(Code.INVALID_ARGUMENT, "amount.currency_code"));
    });
  });

  describe("idempotency conflicts", () => {
    const stored = { orderId: "o1", userId: "u1", amount: USD(100n), paymentMethodToken: "tok" };

    it("accepts an identical authorization replay and names the first field that differs", () => {
      assert.equal(authorizeConflict(stored, { ...stored }), undefined);
      const cases: [Partial<typeof stored>, string][] = [
        [{ orderId: "o2" }, "order_id"],
        [{ userId: "u2" }, "user_id"],
        [{ amount: USD(101n) }, "amount"],
        [{ amount: { amountMinor: 100n, currency: "EUR" } }, "amount.currency_code"],
        [{ paymentMethodToken: "other" }, "payment_method_token"],
      ];
      for (const [change, field] of cases) {
        const err = authorizeConflict(stored, { ...stored, ...change });
        assert.deepEqual([err?.code, err?.violations[0]?.field], [Code.ALREADY_EXISTS, field]);
      }
    });

    it("tells 'the rest' apart from an explicit amount in refund replays", () => {
      assert.equal(refundConflict({ paymentId: "p", requested: undefined }, { paymentId: "p", requested: undefined }), undefined);
      assert.equal(refundConflict({ paymentId: "p", requested: USD(5n) }, { paymentId: "p", requested: USD(5n) }), undefined);
      assert.equal(refundConflict({ paymentId: "p", requested: undefined }, { paymentId: "p", requested: USD(5n) })?.violations[0]?.field, "amount");
      assert.equal(refundConflict({ paymentId: "p", requested: USD(5n) }, { paymentId: "p", requested: USD(6n) })?.violations[0]?.field, "amount");
      assert.equal(refundConflict({ paymentId: "p", requested: USD(5n) }, { paymentId: "q", requested: USD(5n) })?.violations[0]?.field, "payment_id");
    });
  });

  describe("ledger movements", () => {
    it("balances every movement and leaves the accounts matching the payment after a whole lifecycle", () => {
      const movements = [authorizationMovement(10_000n), ...captureMovements(10_000n, 7_000n), refundMovement(2_000n), refundMovement(5_000n)];
      assert.ok(movements.every((m) => isBalanced(m.postings)));
      assert.deepEqual(movements.map((m) => `${m.kind} ${m.amountMinor}`), ["authorization 10000", "capture 7000", "void 3000", "refund 2000", "refund 5000"]);
      assert.deepEqual(balances(movements.flatMap((m) => m.postings)), { customer_funds: -7_000n, authorized: 0n, captured: 0n, refunded: 7_000n });
    });

    it("moves nothing for a failure and releases the whole hold on a void", () => {
      assert.deepEqual(failureMovement(500n).postings, []);
      const held = [authorizationMovement(500n), voidMovement(500n)].flatMap((m) => m.postings);
      assert.deepEqual(balances(held), { customer_funds: 0n, authorized: 0n, captured: 0n, refunded: 0n });
      assert.equal(captureMovements(500n, 500n).length, 1, "a full capture releases nothing");
      assert.ok(!isBalanced([{ account: "captured", direction: "debit", amountMinor: 2n }, { account: "authorized", direction: "credit", amountMinor: 1n }]));
    });
  });

  describe("page tokens", () => {
    it("round-trip and refuse anything else, naming page_token", () => {
      const key = { time: new Date("2030-01-02T03:04:05.678Z"), token: "tok_visa_x" };
      assert.deepEqual(decodeMethodToken(encodeMethodToken(key)), key);
      assert.equal(decodeLedgerToken(encodeLedgerToken(42n)), 42n);
      assert.equal(decodeLedgerToken(""), 0n);
      for (const bad of ["x", Buffer.from('{"s":"-1"}').toString("base64url"), Buffer.from("[]").toString("base64url")]) {
        assert.throws(() => decodeLedgerToken(bad), fails(Code.INVALID_ARGUMENT, "page_token"));
      }
      assert.throws(() => decodeMethodToken(Buffer.from('{"t":"never","k":"a"}').toString("base64url")), fails(Code.INVALID_ARGUMENT, "page_token"));
    });
  });
});

describe("sandbox provider", () => {
  const card = (number: string) => ({ number, expMonth: 12, expYear: 2099, cvc: "123", holderName: "T" });
  const auth = (token: string, key: string, amountMinor = 1_000n) => ({ idempotencyKey: key, token, amount: USD(amountMinor), paymentId: "p", orderId: "o", customerReference: undefined });
  const OWNER = { userId: "u", customerReference: undefined };

  it("lists only Luhn-valid test cards and names tokens after their behaviour", async () => {
    assert.ok(Object.keys(SANDBOX_CARDS).every(luhnValid));
    const sandbox = createSandboxProvider();
    const declined = await sandbox.tokenize(card("4000000000000002"), OWNER);
    assert.match(declined.token, /^tok_chargeDeclined_[0-9a-f]{24}$/);
    assert.deepEqual([declined.brand, declined.last4], ["visa", "0002"]);
    const other = await sandbox.tokenize(card("5105105105105100"), OWNER);
    assert.match(other.token, /^tok_card_/);
    assert.equal(other.brand, "mastercard");
    await assert.rejects(sandbox.tokenize(card("4000000000000003"), OWNER), (err: ProviderError) => err.kind === "rejected" && err.field === "card_number");
  });

  it("declines by card, and answers a replay with the first answer", async () => {
    const sandbox = createSandboxProvider();
    const funds = (await sandbox.tokenize(card("4000000000009995"), OWNER)).token;
    const first = await sandbox.authorize(auth(funds, "k1"));
    assert.deepEqual([first.outcome, first.outcome === "declined" && first.code], ["declined", "insufficient_funds"]);
    assert.deepEqual(await sandbox.authorize(auth(funds, "k1")), first);
    const visa = (await sandbox.tokenize(card("4242424242424242"), OWNER)).token;
    const ok = await sandbox.authorize(auth(visa, "k2"));
    assert.equal(ok.outcome, "authorized");
    await assert.rejects(sandbox.authorize(auth(visa, "k2", 2_000n)), (err: ProviderError) => err.code === "idempotency_key_in_use");
    await assert.rejects(sandbox.authorize(auth("tok_visa_nothex", "k3")), (err: ProviderError) => err.code === "no_such_payment_method");
  });

  it("carries out a timeout card's operation, loses the answer once, and replays it on retry", async () => {
    const sandbox = createSandboxProvider();
    const token = (await sandbox.tokenize(card("4000000000000408"), OWNER)).token;
    await assert.rejects(sandbox.authorize(auth(token, "t1")), (err: ProviderError) => err.kind === "timeout" && err.outcomeUnknown);
    const settled = await sandbox.authorize(auth(token, "t1"));
    assert.equal(settled.outcome, "authorized");
    assert.equal(sandbox.intent(settled.reference)?.status, "authorized");
    await assert.rejects(sandbox.capture({ idempotencyKey: "c1", reference: settled.reference, amount: USD(1_000n) }), (err: ProviderError) => err.kind === "timeout");
    assert.equal(sandbox.intent(settled.reference)?.captured, 1_000n, "the capture happened although its answer was lost");
    await sandbox.capture({ idempotencyKey: "c1", reference: settled.reference, amount: USD(1_000n) });
    assert.equal(sandbox.intent(settled.reference)?.captured, 1_000n);
  });

  it("keeps its own books: no capture over the hold, no refund over the capture", async () => {
    const sandbox = createSandboxProvider();
    const token = (await sandbox.tokenize(card("4242424242424242"), OWNER)).token;
    const result = await sandbox.authorize(auth(token, "a", 1_000n));
    const reference = result.reference;
    await assert.rejects(sandbox.capture({ idempotencyKey: "c", reference, amount: USD(1_001n) }), (err: ProviderError) => err.kind === "rejected");
    await assert.rejects(sandbox.refund({ idempotencyKey: "r0", reference, amount: USD(1n), reason: "" }), (err: ProviderError) => err.code === "charge_not_captured");
    await sandbox.capture({ idempotencyKey: "c2", reference, amount: USD(800n) });
    await sandbox.refund({ idempotencyKey: "r1", reference, amount: USD(500n), reason: "" });
    await assert.rejects(sandbox.refund({ idempotencyKey: "r2", reference, amount: USD(301n), reason: "" }), (err: ProviderError) => err.code === "amount_too_large");
  });
});

describe("Stripe decline codes", () => {
  it("map to our decline reasons", () => {
    assert.equal(declineCode({ code: "card_declined", decline_code: "insufficient_funds" }), "insufficient_funds");
    assert.equal(declineCode({ code: "card_declined", decline_code: "generic_decline" }), "card_declined");
    assert.equal(declineCode({ code: "card_declined", decline_code: "stolen_card" }), "card_declined");
    assert.equal(declineCode({ code: "expired_card" }), "expired_card");
    assert.equal(declineCode({ code: "incorrect_cvc" }), "incorrect_cvc");
    assert.equal(declineCode({ code: "authentication_required", decline_code: "authentication_required" }), "authentication_required");
    assert.equal(declineCode({ code: "processing_error" }), "processing_error");
    assert.equal(declineCode(undefined), "card_declined");
  });
});
