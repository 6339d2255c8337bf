// The background reconciler on a real port and real PostgreSQL: an authorization and a refund
// left pending by provider timeouts, with no retry ever coming, are settled by the job with the
// same provider keys, so no hold or refund stays undecided.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { PaymentStatus } from "../../../gen/shop/payment/v1/payment_pb.js";
import { Code } from "../../../platform/errors.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { createSandboxProvider, type SandboxProvider } from "../providers/sandbox.js";
import { assertLedgerMatches, authorizeRequest, CARDS, movementsOf, newShopper, rejectionOf, saveCard, startInfra, startPayment, usd, type RunningPayment } from "./helpers.js";

describe("payment service: reconciler (real PostgreSQL, sandbox provider)", () => {
  let infra: Awaited<ReturnType<typeof startInfra>>;
  let sandbox: SandboxProvider;
  let svc: RunningPayment;

  before(async () => {
    infra = await startInfra();
    sandbox = createSandboxProvider();
    svc = await startPayment({
      databaseUrl: infra.tdb.url,
      users: infra.users.address,
      provider: sandbox,
      // Older than 1 s: long after the request's own attempt failed, so the job never races it.
      env: { PAYMENT_RECONCILE_INTERVAL: "50ms", PAYMENT_RECONCILE_AFTER: "1s" },
    });
  });
  after(async () => {
    await svc?.stop();
    await infra?.stop();
  });

  const statusOf = async (id: string) => (await svc.db.query<{ status: string }>("SELECT status FROM payments WHERE id = $1", [id])).rows[0]?.status;

  it("settles an abandoned pending authorization and an abandoned pending refund", async () => {
    const shopper = await newShopper(infra.users);
    const token = await saveCard(svc.client, shopper, CARDS.timeout);
    const req = authorizeRequest({ shopper, token, amount: 6_000n });
    assert.equal((await rejectionOf(svc.once.authorizePayment(req))).code, Code.UNAVAILABLE);
    const { rows } = await svc.db.query<{ id: string }>("SELECT id FROM payments WHERE idempotency_key = $1", [req.idempotencyKey]);
    const id = rows[0]!.id;
    await waitFor("the reconciler to settle the authorization", async () => (await statusOf(id)) === "authorized");
    assert.equal(sandbox.calls.filter((c) => c.idempotencyKey === `${id}:authorize`).length, 2);

    await svc.client.capturePayment({ paymentId: id });
    const key = randomUUID();
    assert.equal((await rejectionOf(svc.once.refundPayment({ paymentId: id, amount: usd(2_000n), idempotencyKey: key }))).code, Code.UNAVAILABLE);
    await waitFor("the reconciler to settle the refund", async () => (await statusOf(id)) === "partially_refunded");
    assert.deepEqual(await movementsOf(svc.db, id), ["authorization 6000", "capture 6000", "refund 2000"]);
    // The caller's late retry finds it done.
    const replay = (await svc.once.refundPayment({ paymentId: id, amount: usd(2_000n), idempotencyKey: key })).payment!;
    assert.deepEqual([replay.status, replay.refundedAmount?.amountMinor], [PaymentStatus.PARTIALLY_REFUNDED, 2_000n]);
    await assertLedgerMatches(svc.db, replay);
  });
});
