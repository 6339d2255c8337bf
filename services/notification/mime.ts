// One mail as RFC 5322 bytes: headers, then a multipart/alternative body with the plain-text and
// the HTML part, both UTF-8 in quoted-printable (readable in an .eml file, 7-bit safe for any
// mail server). Both transports deliver exactly these bytes.
import { randomBytes } from "node:crypto";

export interface Mailbox {
  /** The display part, possibly empty. */
  readonly name: string;
  readonly address: string;
}

// Deliberately simple: one @, no spaces or angle brackets, a dot-free local part allowed, a domain.
const ADDRESS = /^[^\s<>@"]+@[^\s<>@"]+$/;

/** `Shop <no-reply@shop.example>` or `no-reply@shop.example`; undefined if neither. */
export function parseMailbox(raw: string): Mailbox | undefined {
  const s = raw.trim();
  const angled = /^(.*?)\s*<([^<>]+)>$/.exec(s);
  const [name, address] = angled ? [angled[1]!.replace(/^"|"$/g, "").trim(), angled[2]!.trim()] : ["", s];
  if (!ADDRESS.test(address) || /[\r\n]/.test(name)) return undefined;
  return { name, address };
}

export interface MailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface MailMessage extends MailContent {
  /** Becomes the Message-ID, so a receiver can spot a mail that was retried after a lost reply. */
  readonly id: string;
  readonly from: Mailbox;
  readonly to: string;
  readonly date: Date;
  /** Domain part of the Message-ID. */
  readonly domain?: string;
}

const needsEncoding = (s: string) => /[^\x20-\x7e]/.test(s);

/** A header value as an RFC 2047 encoded word when it is not plain printable ASCII; line breaks never survive. */
export function encodeHeaderText(value: string): string {
  const flat = value.replace(/[\r\n]+/g, " ");
  if (!needsEncoding(flat)) return flat;
  // Encoded words are at most 75 characters: split the UTF-8 on character boundaries.
  const words: string[] = [];
  let chunk = "";
  for (const ch of flat) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString("base64")}?=`).join("\r\n ");
}

function formatMailbox(m: Mailbox): string {
  if (!m.name) return m.address;
  const name = needsEncoding(m.name) ? encodeHeaderText(m.name) : /[()<>@,;:\\".[\]]/.test(m.name) ? `"${m.name.replace(/["\\]/g, "\\$&")}"` : m.name;
  return `${name} <${m.address}>`;
}

const hex = (b: number) => "=" + b.toString(16).toUpperCase().padStart(2, "0");

/** Quoted-printable (RFC 2045 6.7) of UTF-8 text, CRLF line ends, soft breaks before 76 characters. */
export function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
    const bytes = Buffer.from(line, "utf8");
    let current = "";
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      const last = i === bytes.length - 1;
      // Trailing white space is encoded: mail servers may strip it.
      const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
      const piece = literal ? String.fromCharCode(b) : hex(b);
      if (current.length + piece.length > 75) {
        out.push(current + "=");
        current = "";
      }
      current += piece;
    }
    out.push(current);
  }
  return out.join("\r\n");
}

/** RFC 5322 date, e.g. `Wed, 02 Dec 2026 16:30:00 +0000`. */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, "+0000");
}

export function buildMessage(m: MailMessage): string {
  const boundary = `=_shop_${randomBytes(12).toString("hex")}`;
  const domain = m.domain ?? m.from.address.split("@")[1] ?? "shop.localhost";
  const part = (type: string, body: string) =>
    [`--${boundary}`, `Content-Type: ${type}; charset=utf-8`, "Content-Transfer-Encoding: quoted-printable", "", quotedPrintable(body)].join("\r\n");
  return [
    `From: ${formatMailbox(m.from)}`,
    `To: ${m.to}`,
    `Subject: ${encodeHeaderText(m.subject)}`,
    `Date: ${rfc5322Date(m.date)}`,
    `Message-ID: <${m.id}@${domain}>`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    "",
    part("text/plain", m.text),
    part("text/html", m.html),
    `--${boundary}--`,
    "",
  ].join("\r\n");
}
