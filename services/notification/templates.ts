// Every mail the shop sends, as plain functions from the event's data to a subject, a text body
// and a simple HTML body. No template engine: the HTML is a few escaped strings in one layout,
// and every value that came from outside goes through `escapeHtml`.
import type { MailContent } from "./mime.js";
import { formatMoneyForPeople as formatMoney, type Money } from "../../platform/money.js";

/** Who the mail greets and which shop it comes from. */
export interface Greeting {
  readonly shopName: string;
  /** The customer's display name; empty for a plain "Hello". */
  readonly name: string;
}

export interface OrderLineSummary {
  readonly name: string;
  /** E.g. "Blue / M"; may be empty. */
  readonly variant: string;
  readonly quantity: number;
  readonly lineTotal: Money | undefined;
}

export interface OrderSummary {
  readonly orderId: string;
  readonly lines: readonly OrderLineSummary[];
  readonly subtotal?: Money | undefined;
  readonly discount?: Money | undefined;
  readonly shipping?: Money | undefined;
  readonly tax?: Money | undefined;
  readonly total?: Money | undefined;
  /** Recipient name first, then the address lines. */
  readonly shipTo: readonly string[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** "#1A2B3C4D": short enough to read out on the phone, the full id is in the body. */
export const orderNumber = (orderId: string) => `#${orderId.slice(0, 8).toUpperCase()}`;

const hello = (g: Greeting) => (g.name ? `Hello ${g.name},` : "Hello,");

/** A block of the mail: paragraphs of text, or rows of a two-column table. */
type Block = { readonly p: string } | { readonly rows: readonly (readonly [string, string])[] };

function render(g: Greeting, subject: string, blocks: readonly Block[]): MailContent {
  const text = [hello(g), ""];
  const html = [`<p>${escapeHtml(hello(g))}</p>`];
  for (const b of blocks) {
    if ("p" in b) {
      text.push(b.p, "");
      html.push(`<p>${escapeHtml(b.p).replace(/\n/g, "<br>")}</p>`);
    } else if (b.rows.length > 0) {
      const width = Math.max(...b.rows.map(([k]) => k.length));
      text.push(...b.rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), "");
      html.push(
        `<table cellpadding="4" style="border-collapse:collapse">${b.rows
          .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td style="text-align:right">${escapeHtml(v)}</td></tr>`)
          .join("")}</table>`,
      );
    }
  }
  text.push(`-- ${g.shopName}`);
  html.push(`<p style="color:#666">${escapeHtml(g.shopName)}</p>`);
  return {
    subject,
    text: text.join("\n") + "\n",
    html: `<!doctype html><html><body style="font-family:sans-serif">${html.join("")}</body></html>`,
  };
}

const money = (m: Money | undefined) => (m ? formatMoney(m) : "");
const positive = (m: Money | undefined): m is Money => m !== undefined && m.amountMinor > 0n;

function lineRows(order: OrderSummary): [string, string][] {
  return order.lines.map((l) => [`${l.quantity} x ${l.name}${l.variant ? ` (${l.variant})` : ""}`, money(l.lineTotal)]);
}

function totalRows(order: OrderSummary): [string, string][] {
  const rows: [string, string][] = [];
  if (order.subtotal) rows.push(["Subtotal", money(order.subtotal)]);
  if (positive(order.discount)) rows.push(["Discount", `-${money(order.discount)}`]);
  if (order.shipping) rows.push(["Shipping", money(order.shipping)]);
  if (positive(order.tax)) rows.push(["Tax", money(order.tax)]);
  if (order.total) rows.push(["Total", money(order.total)]);
  return rows;
}

export function welcome(g: Greeting): MailContent {
  return render(g, `Welcome to ${g.shopName}`, [
    { p: `Your ${g.shopName} account is ready. You can now check out faster, follow your orders and manage your addresses.` },
  ]);
}

export function passwordChanged(g: Greeting, changedAt: Date): MailContent {
  return render(g, `Your ${g.shopName} password was changed`, [
    { p: `The password of your account was changed on ${changedAt.toUTCString()}, and every device was signed out.` },
    { p: "If this was you, there is nothing to do. If it was not, reset your password now and contact us." },
  ]);
}

export function orderConfirmation(g: Greeting, order: OrderSummary): MailContent {
  const n = orderNumber(order.orderId);
  return render(g, `Order ${n} confirmed`, [
    { p: `Thank you for your order ${n}. It is paid and we are getting it ready; we will write again when it ships.` },
    { rows: lineRows(order) },
    { rows: totalRows(order) },
    ...(order.shipTo.length > 0 ? [{ p: `Shipping to:\n${order.shipTo.join("\n")}` }] : []),
    { p: `Order id: ${order.orderId}` },
  ]);
}

export function orderCancelled(g: Greeting, orderId: string, reason: string, refunded: Money | undefined): MailContent {
  const n = orderNumber(orderId);
  return render(g, `Order ${n} cancelled`, [
    { p: `Your order ${n} was cancelled${reason ? `: ${reason}` : "."}` },
    { p: positive(refunded) ? `${money(refunded)} is on its way back to your payment method.` : "You were not charged for it." },
  ]);
}

export function orderFailed(g: Greeting, orderId: string): MailContent {
  const n = orderNumber(orderId);
  return render(g, `We could not complete order ${n}`, [
    { p: `Your order ${n} could not be completed, and you were not charged. Your cart is as you left it, so you can try again.` },
  ]);
}

export function returnRequested(g: Greeting, orderId: string): MailContent {
  const n = orderNumber(orderId);
  return render(g, `Return requested for order ${n}`, [
    { p: `We received your request to return order ${n}. Once the parcel is back with us we will refund you and let you know.` },
  ]);
}

export function orderShipped(g: Greeting, orderId: string, carrier: string, trackingNumber: string): MailContent {
  const n = orderNumber(orderId);
  return render(g, `Order ${n} has shipped`, [
    { p: `Good news: your order ${n} is on its way.` },
    { rows: [...(carrier ? [["Carrier", carrier] as [string, string]] : []), ...(trackingNumber ? [["Tracking number", trackingNumber] as [string, string]] : [])] },
  ]);
}

export function orderDelivered(g: Greeting, orderId: string): MailContent {
  const n = orderNumber(orderId);
  return render(g, `Order ${n} was delivered`, [{ p: `Your order ${n} was delivered. We hope you enjoy it.` }]);
}

export function refundIssued(g: Greeting, orderId: string, amount: Money, refundedTotal: Money | undefined): MailContent {
  const n = orderNumber(orderId);
  const total = refundedTotal && refundedTotal.amountMinor !== amount.amountMinor ? [{ p: `Refunded for this order so far: ${money(refundedTotal)}.` }] : [];
  return render(g, `Refund of ${money(amount)} for order ${n}`, [
    { p: `We refunded ${money(amount)} for your order ${n}. Depending on your bank it shows on your statement within a few days.` },
    ...total,
  ]);
}
