// A local stand-in for Stripe's REST API on 127.0.0.1, for testing the Stripe adapter: it
// records every request it receives (method, path, headers, form fields) and answers with
// JSON shaped like Stripe's (https://docs.stripe.com/api), including its error bodies and its
// idempotency: a repeated Idempotency-Key gets the first response again, a reused key with other
// parameters gets an idempotency_error. Behaviour follows Stripe's test card numbers.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface StubRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly contentType: string | undefined;
  readonly form: Readonly<Record<string, string>>;
  /** The raw body, to look for things that must not be there. */
  readonly body: string;
}

/** What to do to the next request on a path: answer it after doing the work, or not at all. */
export type Fault = { readonly kind: "status"; readonly status: number; readonly body?: unknown } | { readonly kind: "hang" };

interface Intent {
  id: string;
  object: "payment_intent";
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  capture_method: string;
  payment_method: string;
  status: string;
  metadata: Record<string, string>;
  latest_charge: string | null;
  last_payment_error: unknown;
}

interface Card {
  readonly brand: string;
  readonly number: string;
  customer: string | null;
  /** Stripe lets a PaymentMethod that belongs to no Customer pay once. */
  used: boolean;
}

export interface StripeStub {
  readonly url: string;
  readonly requests: StubRequest[];
  readonly intents: Map<string, Intent>;
  /** Customers by id, with the user id from their metadata. */
  readonly customers: Map<string, string>;
  /** The next request whose path matches `path` (after doing its work) gets `fault`. */
  failNext(path: RegExp, fault: Fault): void;
  /** Drops the saved response of a key, as Stripe does after its idempotency window (24 hours). */
  forget(idempotencyKey: string): void;
  stop(): Promise<void>;
}

export const STUB_KEY = `sk_test_${randomBytes(12).toString("hex")}`;

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;
const cardError = (code: string, message: string, extra: Record<string, unknown> = {}) => ({ status: 402, body: { error: { type: "card_error", code, message, ...extra } } });
const invalid = (code: string, message: string, status = 400) => ({ status, body: { error: { type: "invalid_request_error", code, message } } });

export async function startStripeStub(): Promise<StripeStub> {
  const requests: StubRequest[] = [];
  const intents = new Map<string, Intent>();
  const methods = new Map<string, Card>();
  const customers = new Map<string, string>();
  const refunds = new Map<string, number>(); // refunded per intent
  const replies = new Map<string, { fingerprint: string; status: number; body: unknown }>();
  const faults: { path: RegExp; fault: Fault }[] = [];
  const hung: ServerResponse[] = [];

  function handle(req: StubRequest): { status: number; body: unknown } {
    if (req.authorization !== `Bearer ${STUB_KEY}`) {
      return { status: 401, body: { error: { type: "invalid_request_error", message: "Invalid API Key provided: sk_test_****" } } };
    }
    const f = req.form;
    let m: RegExpExecArray | null;
    if (req.method === "POST" && req.path === "/v1/customers") {
      const cus = id("cus");
      customers.set(cus, f["metadata[user_id]"] ?? "");
      return { status: 200, body: { id: cus, object: "customer", metadata: { user_id: f["metadata[user_id]"] } } };
    }
    if ((m = /^\/v1\/payment_methods\/([^/]+)\/(attach|detach)$/.exec(req.path)) && req.method === "POST") {
      const pm = methods.get(decodeURIComponent(m[1]!));
      if (!pm) return invalid("resource_missing", "No such PaymentMethod", 404);
      if (m[2] === "attach") {
        if (!customers.has(f["customer"] ?? "")) return invalid("resource_missing", "No such customer", 400);
        pm.customer = f["customer"]!;
      } else {
        if (!pm.customer) return invalid("payment_method_unexpected_state", "The payment method you provided is not attached to a customer so detachment is impossible.");
        pm.customer = null;
      }
      return { status: 200, body: { id: m[1], object: "payment_method", customer: pm.customer } };
    }
    if (req.method === "POST" && req.path === "/v1/payment_methods") {
      const number = f["card[number]"] ?? "";
      if (number === "4242424242424241") return cardError("incorrect_number", "Your card number is incorrect.", { param: "number" });
      const pm = id("pm");
      const brand = number.startsWith("5") ? "mastercard" : "visa";
      methods.set(pm, { brand, number, customer: null, used: false });
      return { status: 200, body: { id: pm, object: "payment_method", type: "card", card: { brand, last4: number.slice(-4), exp_month: Number(f["card[exp_month]"]), exp_year: Number(f["card[exp_year]"]) } } };
    }
    if (req.method === "POST" && req.path === "/v1/payment_intents") {
      const card = methods.get(f["payment_method"] ?? "");
      if (!card) return invalid("resource_missing", "No such PaymentMethod", 400);
      if (card.customer !== (f["customer"] ?? null)) {
        return invalid("parameter_invalid", "The provided PaymentMethod belongs to another Customer, or to none; pass its customer.");
      }
      if (!card.customer && card.used) {
        return invalid("payment_method_unexpected_state", "The provided PaymentMethod was previously used without Customer attachment. It may not be used again.");
      }
      card.used = true;
      const pi: Intent = {
        id: id("pi"),
        object: "payment_intent",
        amount: Number(f["amount"]),
        amount_capturable: 0,
        amount_received: 0,
        currency: f["currency"] ?? "",
        capture_method: f["capture_method"] ?? "automatic",
        payment_method: f["payment_method"] ?? "",
        status: "requires_confirmation",
        metadata: Object.fromEntries(Object.entries(f).flatMap(([k, v]) => (/^metadata\[(.+)\]$/.exec(k)?.[1] ? [[/^metadata\[(.+)\]$/.exec(k)![1]!, v]] : []))),
        latest_charge: null,
        last_payment_error: null,
      };
      intents.set(pi.id, pi);
      return { status: 200, body: pi };
    }
    if ((m = /^\/v1\/payment_intents\/([^/]+)(\/(confirm|capture|cancel))?$/.exec(req.path))) {
      const pi = intents.get(decodeURIComponent(m[1]!));
      if (!pi) return invalid("resource_missing", "No such payment_intent", 404);
      const action = m[3];
      if (req.method === "GET" && !action) return { status: 200, body: pi };
      if (action === "confirm") {
        if (pi.status !== "requires_confirmation") return invalid("payment_intent_unexpected_state", `This PaymentIntent's status is ${pi.status}.`);
        const number = methods.get(pi.payment_method)?.number ?? "";
        const decline =
          number === "4000000000009995" ? { code: "card_declined", decline_code: "insufficient_funds", message: "Your card has insufficient funds." }
          : number === "4000000000000002" ? { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." }
          : number === "4000002760003184" && f["error_on_requires_action"] === "true" ? { code: "authentication_required", decline_code: "authentication_required", message: "Your card was declined. This transaction requires authentication." }
          : undefined;
        if (decline) {
          pi.status = "requires_payment_method";
          pi.last_payment_error = { type: "card_error", ...decline };
          return cardError(decline.code, decline.message, { decline_code: decline.decline_code, payment_intent: pi });
        }
        pi.status = pi.capture_method === "manual" ? "requires_capture" : "succeeded";
        pi.amount_capturable = pi.amount;
        return { status: 200, body: pi };
      }
      if (action === "capture") {
        if (pi.status !== "requires_capture") return invalid("payment_intent_unexpected_state", `This PaymentIntent could not be captured because it has a status of ${pi.status}.`);
        const amount = f["amount_to_capture"] === undefined ? pi.amount : Number(f["amount_to_capture"]);
        if (amount > pi.amount_capturable) return invalid("amount_too_large", "The amount to capture exceeds the capturable amount.");
        Object.assign(pi, { status: "succeeded", amount_received: amount, amount_capturable: 0, latest_charge: id("ch") });
        return { status: 200, body: pi };
      }
      if (action === "cancel") {
        if (!["requires_capture", "requires_confirmation", "requires_payment_method"].includes(pi.status)) {
          return invalid("payment_intent_unexpected_state", `You cannot cancel this PaymentIntent because it has a status of ${pi.status}.`);
        }
        Object.assign(pi, { status: "canceled", amount_capturable: 0 });
        return { status: 200, body: pi };
      }
    }
    if (req.method === "POST" && req.path === "/v1/refunds") {
      const pi = intents.get(f["payment_intent"] ?? "");
      if (!pi) return invalid("resource_missing", "No such payment_intent");
      if (pi.status !== "succeeded") return invalid("charge_not_captured", "This PaymentIntent has not been captured.");
      const amount = f["amount"] === undefined ? pi.amount_received : Number(f["amount"]);
      const done = refunds.get(pi.id) ?? 0;
      if (done + amount > pi.amount_received) return invalid("amount_too_large", `Refund amount is greater than unrefunded amount on charge.`);
      refunds.set(pi.id, done + amount);
      return { status: 200, body: { id: id("re"), object: "refund", amount, currency: pi.currency, payment_intent: pi.id, charge: pi.latest_charge, status: "succeeded" } };
    }
    return invalid("resource_missing", `Unrecognized request URL (${req.method}: ${req.path}).`, 404);
  }

  const server = createServer((incoming: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (c: Buffer) => chunks.push(c));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const header = (name: string) => {
        const v = incoming.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const url = new URL(incoming.url ?? "/", "http://stub");
      const req: StubRequest = {
        method: incoming.method ?? "GET",
        path: url.pathname,
        authorization: header("authorization"),
        idempotencyKey: header("idempotency-key"),
        contentType: header("content-type"),
        form: Object.fromEntries(new URLSearchParams(body)),
        body,
      };
      requests.push(req);
      let reply: { status: number; body: unknown };
      const fingerprint = `${req.method} ${req.path} ${body}`;
      // Keys belong to an account: a request that does not authenticate is neither replayed nor saved.
      const authenticated = req.authorization === `Bearer ${STUB_KEY}`;
      const saved = authenticated && req.method === "POST" && req.idempotencyKey ? replies.get(req.idempotencyKey) : undefined;
      if (saved && saved.fingerprint !== fingerprint) {
        reply = { status: 400, body: { error: { type: "idempotency_error", message: "Keys for idempotent requests can only be used with the same parameters they were first used with." } } };
      } else if (saved) {
        reply = saved;
      } else {
        reply = handle(req);
        // Like Stripe: results are saved for the key, server errors are not.
        if (authenticated && req.method === "POST" && req.idempotencyKey && reply.status < 500) replies.set(req.idempotencyKey, { fingerprint, ...reply });
      }
      const faultAt = faults.findIndex((f) => f.path.test(req.path));
      if (faultAt >= 0) {
        const { fault } = faults.splice(faultAt, 1)[0]!;
        if (fault.kind === "hang") {
          hung.push(res);
          return;
        }
        reply = { status: fault.status, body: fault.body ?? { error: { type: "api_error", message: "Something went wrong on Stripe's end." } } };
      }
      res.writeHead(reply.status, { "content-type": "application/json", "request-id": id("req") });
      res.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    intents,
    customers,
    failNext: (path, fault) => void faults.push({ path, fault }),
    forget: (key) => void replies.delete(key),
    async stop() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
