// The sender loop: drains the queued rows of the delivery log through the mail transport. It is
// woken at once by the NOTIFY a queued mail sends at commit, and polls every interval for mails
// whose retry is due, so a mail server outage delays mails but loses none: each failed attempt
// is recorded with its reason and retried with backoff until MAIL_MAX_ATTEMPTS, then it is
// marked failed. Every replica runs one; SKIP LOCKED claims keep them off each other's mails.
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import type { Queryable } from "../../platform/db/db.js";
import { context, extractContext, getTracer, inSpan, SpanKind, SpanStatusCode } from "../../platform/telemetry.js";
import { enqueueEvent } from "../../platform/events/index.js";
import type { Logger } from "../../platform/logger.js";
import { NotificationSentSchema } from "../../gen/shop/notification/v1/events_pb.js";
import { Channel, DeliveryStatus } from "../../gen/shop/notification/v1/notification_pb.js";
import { buildMessage, parseMailbox, type Mailbox } from "./mime.js";
import { afterFailure, type RetrySettings } from "./retry-policy.js";
import type { DueMail, NotificationStore } from "./store.js";
import { MailError, type MailSession, type MailTransport } from "./transports/transport.js";

const tracer = getTracer("shop.notification");

const spanAttributes = (m: DueMail) => ({
  "shop.notification.id": m.id,
  "shop.notification.template": m.template,
  "shop.notification.attempt": m.attempts,
});

export interface MailSenderOptions {
  readonly store: NotificationStore;
  readonly transport: MailTransport;
  readonly from: Mailbox;
  readonly clock: () => Date;
  readonly log: Logger;
  readonly retry: RetrySettings;
  readonly batch: number;
  readonly pollIntervalMs: number;
  /** How long a claimed batch is this sender's; after that a crashed sender's mails are due again. */
  readonly leaseMs: number;
  readonly random?: () => number;
}

export interface MailSender {
  /** Drains now (or right after the drain in progress). */
  kick(): void;
  /** One claim-and-send round; how many mails it attempted. */
  drainOnce(): Promise<number>;
  stop(): Promise<void>;
}

type Outcome = { ok: true; to: string } | { ok: false; error: MailError; to: string | undefined };
interface Delivery {
  readonly outcome: Outcome;
  /** The session to go on with (undefined once it was lost). */
  readonly session: MailSession | undefined;
  /** The mail server could not be reached at all. */
  readonly unreachable?: boolean;
}

export function startMailSender(opts: MailSenderOptions): MailSender {
  const { store, transport, clock, log } = opts;

  async function record(m: DueMail, outcome: Outcome): Promise<void> {
    const now = clock();
    await store.tx(async (q) => {
      if (outcome.ok) {
        if (await store.recordAttempt(q, m, { status: "sent", at: now, to: outcome.to })) await emitSent(q, m, DeliveryStatus.SENT);
        return;
      }
      const next = afterFailure(m.attempts, outcome.error.permanent, opts.retry, opts.random);
      const reason = outcome.error.message.slice(0, 500);
      if ("giveUp" in next) {
        if (await store.recordAttempt(q, m, { status: "failed", reason, to: outcome.to })) await emitSent(q, m, DeliveryStatus.FAILED);
        log.warn("mail failed for good", { notificationId: m.id, template: m.template, attempts: m.attempts, reason });
      } else {
        await store.recordAttempt(q, m, { status: "queued", retryAt: new Date(now.getTime() + next.retryInMs), reason, to: outcome.to });
        log.info("mail attempt failed; will retry", { notificationId: m.id, attempts: m.attempts, retryInMs: next.retryInMs, reason });
      }
    });
  }

  const emitSent = (q: Queryable, m: DueMail, status: DeliveryStatus) =>
    enqueueEvent(q, NotificationSentSchema, { notificationId: m.id, userId: m.userId, channel: Channel.EMAIL, template: m.template, status, orderId: m.orderId ?? "" });

  const failure = (err: unknown, sessionLost: boolean) =>
    err instanceof MailError ? err : new MailError(`unexpected send failure: ${(err as Error).message}`, { sessionLost, cause: err });

  /** Sends one claimed mail over `session`, opening one if needed. */
  async function deliver(m: DueMail, session: MailSession | undefined): Promise<Delivery> {
    if (!m.email) {
      return { outcome: { ok: false, error: new MailError("no email address is known for this user yet (UserRegistered not seen)"), to: undefined }, session };
    }
    const to = parseMailbox(m.email);
    if (!to || to.name !== "") return { outcome: { ok: false, error: new MailError("the address on file is not a valid email address", { permanent: true }), to: m.email }, session };
    if (!session) {
      try {
        session = await transport.open();
      } catch (err) {
        return { outcome: { ok: false, error: failure(err, true), to: to.address }, session: undefined, unreachable: true };
      }
    }
    try {
      const message = buildMessage({ id: m.id, from: opts.from, to: to.address, date: clock(), subject: m.subject, text: m.text, html: m.html });
      await session.send({ from: opts.from.address, to: to.address }, message);
      return { outcome: { ok: true, to: to.address }, session };
    } catch (err) {
      const error = failure(err, true);
      if (!error.sessionLost) return { outcome: { ok: false, error, to: to.address }, session };
      await session.close();
      return { outcome: { ok: false, error, to: to.address }, session: undefined };
    }
  }

  async function drainOnce(): Promise<number> {
    const now = clock();
    // Polling is routine, not a request: its SQL would only litter the trace store with roots.
    const due = await context.with(suppressTracing(ROOT_CONTEXT), () => store.claimDue(now, new Date(now.getTime() + opts.leaseMs), opts.batch));
    if (due.length === 0) return 0;
    let session: MailSession | undefined;
    let unreachable: MailError | undefined;
    const deliverInSession = async (m: DueMail): Promise<Outcome> => {
      const r = await deliver(m, session);
      session = r.session;
      if (r.unreachable && !r.outcome.ok) unreachable = r.outcome.error;
      return r.outcome;
    };
    try {
      for (const m of due) {
        // One failed connect is enough for this round: the rest of the batch would only wait for the same timeout.
        // Each send continues the trace of the event that queued the mail.
        await inSpan(tracer, "send mail", { kind: SpanKind.CLIENT, parent: extractContext(m.traceHeaders, ROOT_CONTEXT), attributes: spanAttributes(m) }, async (span) => {
          const outcome = unreachable ? { ok: false as const, error: unreachable, to: undefined } : await deliverInSession(m);
          if (!outcome.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
          await record(m, outcome);
        });
      }
    } finally {
      await session?.close();
    }
    return due.length;
  }

  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        while ((await drainOnce()) === opts.batch && !stopped);
      } while (again && !stopped);
    })()
      .catch((err: unknown) => log.warn("mail sender round failed; retrying at the next poll", { err }))
      .finally(() => (running = undefined));
  }

  const timer = setInterval(kick, opts.pollIntervalMs);
  timer.unref();
  kick();

  return {
    kick,
    drainOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
