// The saga orchestrator: drives one order's saga (checkout, cancellation or refund, see
// saga-plan.ts) step by step. Before each peer call the step is persisted as started (attempt
// count + 1, lease renewed); after it, as done, and the saga's position moves on, in one
// transaction. Every peer call is idempotent by order id, so a step interrupted anywhere is
// simply run again. A peer that is unavailable (or slow, or erroring) is retried with capped
// exponential backoff; a definitive answer (declined card, no stock, coupon used up) turns a
// checkout to compensation, which undoes in reverse and ends the order FAILED.
//
// Sagas run detached from the RPC that started them: PlaceOrder waits for the outcome only as
// long as its deadline allows, while the saga carries on with its own per-call timeouts. Only
// the replica holding the order's lease drives it; recovery.ts takes over expired leases.
import { AsyncResource } from "node:async_hooks";
import { ROOT_CONTEXT, type SpanContext } from "@opentelemetry/api";
import { OrderCancelledSchema, OrderFailedSchema, OrderPlacedSchema, OrderRefundedSchema } from "../../gen/shop/order/v1/events_pb.js";
import { Code, ShopError } from "../../platform/errors.js";
import type { Logger } from "../../platform/logger.js";
import { SpanKind, context, getTracer, inSpan, trace } from "../../platform/telemetry.js";
import type { Inventory } from "./inventory.js";
import type { StoredOrder } from "./order-model.js";
import { toProtoOrder } from "./order-proto.js";
import type { Payments, PaymentView } from "./payments.js";
import type { Promotions } from "./promotions.js";
import { countFinished, countStep } from "./saga-metrics.js";
import { CHECKOUT_STEPS, POINT_OF_NO_RETURN, plans, type CrashPoint, type StepName } from "./saga-plan.js";
import { LeaseLost, type OrderStore, type StepPatch, type StepRecord } from "./store.js";

export interface SagaOptions {
  readonly store: OrderStore;
  readonly inventory: Inventory;
  readonly payments: Payments;
  readonly promotions: Promotions;
  readonly clock: () => Date;
  readonly log: Logger;
  /** This replica's identity in leases. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
  readonly reservationTtlMs: number;
  /** Called at each crash point (see ORDER_CRASH_AFTER_STEP); a no-op outside crash tests. */
  readonly crashPoint?: (point: CrashPoint) => void;
}

export interface SagaRunner {
  /**
   * Drives the order's saga if this replica holds or can take its lease; resolves when it stops.
   * `inserted` is the order as this replica just recorded it, leased to itself with no step
   * run yet: then neither the lease nor the saga's state needs reading again.
   */
  drive(orderId: string, inserted?: StoredOrder): Promise<void>;
  /** The local driver of the order, if one is running. */
  running(orderId: string): Promise<void> | undefined;
  /** Stops every driver at its next step boundary and gives their leases up. */
  stop(): Promise<void>;
}

type Outcome = { readonly ok: true; readonly patch?: StepPatch } | { readonly ok: false; readonly code: Code; readonly reason: string };

const done = (patch?: StepPatch): Outcome => (patch ? { ok: true, patch } : { ok: true });
const failed = (code: Code, reason: string): Outcome => ({ ok: false, code, reason });

/** Answers that repeating the call cannot change. Anything else (a peer down, slow, erroring) is retried. */
const definitiveCodes = new Set<Code>([
  Code.INVALID_ARGUMENT,
  Code.NOT_FOUND,
  Code.ALREADY_EXISTS,
  Code.PERMISSION_DENIED,
  Code.FAILED_PRECONDITION,
  Code.OUT_OF_RANGE,
  Code.UNIMPLEMENTED,
  Code.UNAUTHENTICATED,
]);

export function isDefinitive(err: unknown): err is ShopError {
  return err instanceof ShopError && definitiveCodes.has(err.code);
}

/** Not a failure of the step: the answer is not known yet, ask again. */
class Unsettled extends Error {}

export const authorizeKey = (orderId: string) => `${orderId}:authorize`;
export const refundKey = (orderId: string) => `${orderId}:refund`;

export function backoffMs(attempt: number, retry: SagaOptions["retry"]): number {
  const exp = Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(20, Math.max(0, attempt - 1)));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

const tracer = getTracer("shop.order.saga");

/**
 * The saga as a trace of its own (it may outlive the request by minutes), linked to the span
 * of the call that started it; each step is a child span with the peer calls under it.
 */
async function traced(orderId: string, link: SpanContext | undefined, fn: () => Promise<void>): Promise<void> {
  const span = tracer.startSpan("order saga", { kind: SpanKind.INTERNAL, attributes: { "order.id": orderId }, links: link ? [{ context: link }] : [] }, ROOT_CONTEXT);
  try {
    await context.with(trace.setSpan(ROOT_CONTEXT, span), fn);
  } finally {
    span.end();
  }
}

export function createSagaRunner(opts: SagaOptions): SagaRunner {
  const { store, inventory, payments, promotions, clock, log, owner, leaseMs } = opts;
  const crash = opts.crashPoint ?? (() => undefined);
  const drivers = new Map<string, Promise<void>>();
  const stopping = new AbortController();
  // Bound here, outside any RPC: a saga must not inherit the deadline or the cancellation of
  // the call that happened to start it.
  const detached = AsyncResource.bind((fn: () => Promise<void>) => fn());

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stopping.signal.removeEventListener("abort", done);
        resolve();
      }
      stopping.signal.addEventListener("abort", done, { once: true });
    });

  const compensationReason = (o: StoredOrder) => (o.saga.kind === "checkout" ? `checkout_failed:${o.saga.failedStep || "unknown"}` : `order_${o.saga.kind}`).slice(0, 200);

  const paymentInput = (o: StoredOrder) => ({
    orderId: o.id,
    userId: o.userId,
    amount: { amountMinor: o.totals.totalMinor, currency: o.currency },
    paymentMethodToken: o.paymentMethodToken,
    idempotencyKey: authorizeKey(o.id),
  });

  /** Gives the money back, whatever state the order's payment is in. */
  async function settlePayment(o: StoredOrder): Promise<Outcome> {
    // The same key returns the order's payment, or authorizes now if the first attempt never
    // reached the payment service; either way what follows leaves nothing held.
    let p: PaymentView = await payments.authorize(paymentInput(o));
    const reason = compensationReason(o);
    if (p.state === "authorized") p = await payments.void(p.id, reason);
    else if (p.state === "captured" || p.state === "partially_refunded") p = await payments.refund(p.id, reason, refundKey(o.id));
    if (p.state === "unsettled") throw new Unsettled(`payment ${p.id} is not settled yet`);
    return done({ paymentId: p.id, refundedMinor: p.refundedMinor });
  }

  async function runStep(step: StepName, o: StoredOrder, history: ReadonlyMap<string, StepRecord>): Promise<Outcome> {
    const ran = (s: StepName) => history.has(s);
    const charged = o.totals.totalMinor > 0n;
    switch (step) {
      case "reserve_stock":
        await inventory.reserve(o.id, o.lines, opts.reservationTtlMs);
        return done();
      case "authorize_payment": {
        if (!charged) return done();
        const p = await payments.authorize(paymentInput(o));
        if (p.state === "authorized" || p.state === "captured") return done({ paymentId: p.id });
        if (p.state === "unsettled") throw new Unsettled(`payment ${p.id} is not settled yet`);
        return failed(Code.ABORTED, p.failureReason || `payment ${p.state}`);
      }
      case "redeem_promotions":
        await promotions.redeem(o.id, o.userId, o.discounts, o.currency);
        return done();
      case "capture_payment": {
        if (!charged) return done();
        const p = await payments.capture(o.paymentId);
        if (p.state === "unsettled") throw new Unsettled(`capture of payment ${p.id} is not settled yet`);
        return p.state === "captured" ? done() : failed(Code.ABORTED, p.failureReason || `payment ${p.state}`);
      }
      case "commit_stock":
        await inventory.commit(o.id);
        return done();
      case "release_promotions":
        if (!ran("redeem_promotions") || o.discounts.length === 0) return done();
        await promotions.release(o.id, compensationReason(o));
        return done();
      case "settle_payment":
        if (!ran("authorize_payment") || !charged) return done();
        return settlePayment(o);
      case "release_stock":
        // Committed units are sold: a cancellation restocks them (restock_stock), a return's
        // come back as a stock adjustment, an operator's on receiving the parcel.
        if (!ran("reserve_stock") || history.get("commit_stock")?.status === "done") return done();
        await inventory.release(o.id, compensationReason(o));
        return done();
      case "restock_stock":
        if (history.get("commit_stock")?.status !== "done") return done();
        await inventory.restock(o.id, compensationReason(o));
        return done();
    }
  }

  /** The saga's last transaction: the order's new status and the events that announce it. */
  async function finish(o: StoredOrder): Promise<void> {
    const now = clock();
    await store.finishSaga(o.id, owner, async (tx, order) => {
      if (order.saga.kind === "checkout" && order.saga.phase === "forward") {
        const confirmed = await tx.changeStatus(order, "confirmed", "", now);
        await tx.emit(OrderPlacedSchema, { order: toProtoOrder(confirmed) });
      } else if (order.saga.kind === "checkout") {
        await tx.changeStatus(order, "failed", order.reason, now);
        await tx.emit(OrderFailedSchema, { orderId: order.id, userId: order.userId, failedStep: order.saga.failedStep, reason: order.reason });
      } else if (order.saga.kind === "cancel") {
        const refundedAmount = { amountMinor: order.refundedMinor, currencyCode: order.currency };
        await tx.emit(OrderCancelledSchema, { orderId: order.id, userId: order.userId, reason: order.reason, refundedAmount, shipmentId: order.shipmentId });
      } else {
        const amount = { amountMinor: order.refundedMinor, currencyCode: order.currency };
        await tx.emit(OrderRefundedSchema, { orderId: order.id, userId: order.userId, paymentId: order.paymentId, amount });
      }
    });
    countFinished(o);
    log.info("saga finished", { order_id: o.id, saga: o.saga.kind, phase: o.saga.phase });
  }

  /**
   * What the driver knows of its saga. Loaded once per drive and then kept in step with every
   * write it makes: all saga writes are fenced by the lease, so while the lease holds nobody
   * else changes these rows. After any error it is read again from the database.
   */
  interface Driving {
    readonly order: StoredOrder;
    readonly history: ReadonlyMap<string, StepRecord>;
  }

  async function load(orderId: string): Promise<Driving | undefined> {
    const order = await store.get(orderId);
    if (!order || order.saga.done) return undefined;
    return { order, history: await store.steps(orderId) };
  }

  const withStep = (h: ReadonlyMap<string, StepRecord>, step: StepName, record: StepRecord) => new Map(h).set(step, record);

  async function compensate(d: Driving, step: StepName, code: Code, reason: string, attempts: number): Promise<Driving> {
    await store.startCompensation(d.order.id, owner, step, code, reason, clock());
    const o = d.order;
    return {
      order: { ...o, reason, saga: { ...o.saga, phase: "compensate", next: 0, failedStep: step, failureCode: code } },
      history: withStep(d.history, step, { status: "failed", attempts }),
    };
  }

  /** One move of the saga; undefined once it is finished. */
  async function advance(d: Driving): Promise<Driving | undefined> {
    const o = d.order;
    const plan = plans[o.saga.kind];
    const steps = o.saga.phase === "forward" ? plan.forward : plan.compensate;
    const step = steps[o.saga.next];
    if (!step) {
      await finish(o);
      return undefined;
    }
    const forwardCheckout = o.saga.kind === "checkout" && o.saga.phase === "forward";
    const pastNoReturn = d.history.get(POINT_OF_NO_RETURN)?.status === "done";
    if (forwardCheckout && !pastNoReturn && clock() > o.saga.deadline) {
      log.warn("saga past its deadline: compensating", { order_id: o.id, step });
      countStep(o, step, false);
      return compensate(d, step, Code.DEADLINE_EXCEEDED, `checkout timed out at ${step.replace("_", " ")}`, d.history.get(step)?.attempts ?? 0);
    }
    const attempt = await store.stepStarted(o.id, owner, step, leaseMs, clock());
    const started = withStep(d.history, step, { status: "started", attempts: attempt });
    let outcome: Outcome;
    try {
      outcome = await inSpan(tracer, `saga ${step}`, { attributes: { "order.id": o.id, "saga.kind": o.saga.kind, "saga.attempt": attempt } }, () =>
        runStep(step, o, d.history),
      );
    } catch (err) {
      if (err instanceof LeaseLost) throw err;
      if (!isDefinitive(err)) {
        const message = err instanceof Error ? err.message : String(err);
        log.warn("saga step will be retried", { order_id: o.id, step, attempt, error: message });
        await store.stepRetrying(o.id, owner, step, message.slice(0, 500), leaseMs, clock());
        await sleep(backoffMs(attempt, opts.retry));
        return { order: o, history: started };
      }
      outcome = failed(err.code, err.message);
    }
    crash(`${step}:called` as CrashPoint);
    let next: Driving;
    if (outcome.ok) {
      const patch = outcome.patch ?? {};
      await store.stepDone(o.id, owner, step, patch, clock());
      countStep(o, step, true);
      next = {
        order: { ...o, paymentId: patch.paymentId ?? o.paymentId, refundedMinor: patch.refundedMinor ?? o.refundedMinor, saga: { ...o.saga, next: o.saga.next + 1 } },
        history: withStep(d.history, step, { status: "done", attempts: attempt }),
      };
    } else if (o.saga.phase === "forward" && plan.compensate.length > 0) {
      log.info("saga step failed: compensating", { order_id: o.id, step, reason: outcome.reason });
      next = await compensate({ order: o, history: started }, step, outcome.code, outcome.reason, attempt);
      countStep(o, step, false);
    } else {
      // Undoing cannot be undone: record why and go on, an operator sees it in saga_steps.
      log.error("compensation step refused; passing over it", { order_id: o.id, step, reason: outcome.reason });
      await store.stepDone(o.id, owner, step, {}, clock(), outcome.reason.slice(0, 500));
      countStep(o, step, false);
      next = { order: { ...o, saga: { ...o.saga, next: o.saga.next + 1 } }, history: withStep(d.history, step, { status: "failed", attempts: attempt }) };
    }
    crash(step);
    return next;
  }

  async function run(orderId: string, inserted: StoredOrder | undefined): Promise<void> {
    if (!inserted && !(await store.claim(orderId, owner, leaseMs))) return;
    let state: Driving | undefined | "reload" = inserted ? { order: inserted, history: new Map() } : "reload";
    try {
      while (!stopping.signal.aborted) {
        try {
          if (state === "reload") state = await load(orderId);
          if (!state) return;
          state = await advance(state);
          if (!state) return;
        } catch (err) {
          if (err instanceof LeaseLost) throw err;
          // The database itself failed us (a restart, a dropped connection): wait, re-read, go on.
          log.error("saga step could not be persisted; retrying", { order_id: orderId, err });
          await sleep(opts.retry.maxMs);
          state = "reload";
        }
      }
      await store.releaseLease(orderId, owner).catch(() => undefined);
    } catch (err) {
      if (err instanceof LeaseLost) log.warn("saga lease lost; another replica drives it", { order_id: orderId });
      else log.error("saga driver stopped", { order_id: orderId, err });
    }
  }

  return {
    drive(orderId, inserted) {
      let driver = drivers.get(orderId);
      if (!driver) {
        const link = trace.getSpanContext(context.active());
        driver = detached(() => traced(orderId, link, () => run(orderId, inserted))).finally(() => drivers.delete(orderId));
        drivers.set(orderId, driver);
      }
      return driver;
    },
    running: (orderId) => drivers.get(orderId),
    async stop() {
      stopping.abort();
      await Promise.allSettled([...drivers.values()]);
    },
  };
}

export { CHECKOUT_STEPS };
