// A small SMTP client on node:net / node:tls: EHLO (HELO if refused), STARTTLS when configured,
// AUTH PLAIN or LOGIN when the URL carries credentials, then per message MAIL FROM, RCPT TO and
// DATA (dot-stuffed), and QUIT. Every step waits at most `timeoutMs` for its reply.
//
// Failures are MailErrors: a 5xx reply to RCPT TO or to the end of DATA is permanent (this
// recipient or message will never be accepted); everything else (connection refused or lost,
// timeouts, 4xx, authentication refused) is transient and retried by the sender.
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { createReplyParser, describeReply, dotStuff, ehloExtensions, SmtpProtocolError, type SmtpReply } from "./smtp-protocol.js";
import { MailError, type Envelope, type MailSession, type MailTransport } from "./transport.js";

export interface SmtpTransportOptions {
  /** `smtp://[user:pass@]host[:port]` (default port 25) or `smtps://...` (implicit TLS, default 465). */
  readonly url: string;
  readonly heloName: string;
  readonly timeoutMs: number;
  /** smtp:// only: upgrade when the server offers STARTTLS, insist on it, or never. */
  readonly starttls: "auto" | "always" | "never";
  /** PEM of the CA that signed the server's certificate; default the system's. */
  readonly ca?: string | undefined;
}

interface Server {
  readonly host: string;
  readonly port: number;
  readonly implicitTls: boolean;
  readonly user: string;
  readonly password: string;
}

function parseServer(raw: string): Server {
  const u = new URL(raw);
  const implicitTls = u.protocol === "smtps:";
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : implicitTls ? 465 : 25,
    implicitTls,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}

/** The certificate is checked against `host`; SNI carries names only (RFC 6066 forbids addresses). */
const tlsTarget = (host: string) => ({ host, ...(isIP(host) ? {} : { servername: host }) });

/** Credentials travel in the clear only to this machine (a local relay); anywhere else they need TLS. */
export const credentialsAllowed = (host: string, encrypted: boolean): boolean =>
  encrypted || host === "localhost" || host === "::1" || /^127\./.test(host);

/** One connection and its reply stream; replies are awaited one at a time. */
class Connection {
  private socket: Socket | TLSSocket;
  private parser = createReplyParser();
  private replies: SmtpReply[] = [];
  private waiter: { resolve: (r: SmtpReply) => void; reject: (e: Error) => void } | undefined;
  private failure: MailError | undefined;
  private readonly onData = (d: Buffer) => this.received(d.toString("latin1"));
  private readonly onEnd = () => this.fail(new MailError("the mail server closed the connection", { sessionLost: true }));
  private readonly onError = (err: Error) => this.fail(new MailError(`mail server connection failed: ${err.message}`, { sessionLost: true, cause: err }));

  constructor(
    socket: Socket | TLSSocket,
    private readonly timeoutMs: number,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  get encrypted(): boolean {
    return "encrypted" in this.socket && this.socket.encrypted;
  }

  private attach(s: Socket | TLSSocket): void {
    s.on("data", this.onData);
    s.on("end", this.onEnd);
    s.on("close", this.onEnd);
    s.on("error", this.onError);
  }

  private detach(s: Socket | TLSSocket): void {
    s.off("data", this.onData);
    s.off("end", this.onEnd);
    s.off("close", this.onEnd);
    s.off("error", this.onError);
  }

  private received(text: string): void {
    try {
      this.replies.push(...this.parser.push(text));
    } catch (err) {
      this.fail(new MailError(`mail server spoke no SMTP: ${(err as SmtpProtocolError).message}`, { sessionLost: true, cause: err }));
      return;
    }
    const w = this.waiter;
    if (w && this.replies.length > 0) {
      this.waiter = undefined;
      w.resolve(this.replies.shift()!);
    }
  }

  private fail(err: MailError): void {
    if (this.failure) return;
    this.failure = err;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  /** The next reply, waiting at most timeoutMs. */
  read(step: string): Promise<SmtpReply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new MailError(`mail server did not answer ${step} within ${this.timeoutMs} ms`, { sessionLost: true })), this.timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Sends a command line (or DATA's payload) and reads the reply. `step` names it in errors without echoing secrets. */
  async command(text: string, step: string): Promise<SmtpReply> {
    if (this.failure) throw this.failure;
    this.socket.write(text);
    return this.read(step);
  }

  /** Replaces the plain socket by a TLS one on the same connection (after STARTTLS's 220). */
  async upgrade(host: string, ca: string | undefined): Promise<void> {
    // Anything the server sent after its 220 arrived unencrypted: a man in the middle's injection.
    if (this.parser.pending() !== "" || this.replies.length > 0) {
      const err = new MailError("mail server sent data before the TLS handshake", { sessionLost: true });
      this.fail(err);
      throw err;
    }
    const plain = this.socket;
    this.detach(plain);
    const secure = await handshake(() => tlsConnect({ socket: plain, ...tlsTarget(host), ...(ca ? { ca } : {}) }), "secureConnect", this.timeoutMs, "STARTTLS handshake");
    this.socket = secure;
    this.attach(secure);
  }

  destroy(): void {
    this.detach(this.socket);
    this.socket.destroy();
  }
}

/** Opens a socket and waits for it to connect (or finish its TLS handshake), at most timeoutMs. */
function handshake<S extends Socket>(open: () => S, event: "connect" | "secureConnect", timeoutMs: number, step: string): Promise<S> {
  return new Promise((resolve, reject) => {
    const s = open();
    const timer = setTimeout(() => {
      s.destroy();
      reject(new MailError(`${step} timed out after ${timeoutMs} ms`, { sessionLost: true }));
    }, timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(new MailError(`${step} failed: ${err.message}`, { sessionLost: true, cause: err }));
    };
    s.once("error", onError);
    s.once(event, () => {
      clearTimeout(timer);
      s.off("error", onError);
      resolve(s);
    });
  });
}

const expect = (r: SmtpReply, ok: (code: number) => boolean, step: string, opts: { permanentOn5xx?: boolean } = {}) => {
  if (ok(r.code)) return r;
  const permanent = opts.permanentOn5xx === true && r.code >= 500 && r.code < 600;
  throw new MailError(`mail server refused ${step}: ${describeReply(r)}`, { permanent });
};

const is2xx = (code: number) => code >= 200 && code < 300;

export function createSmtpTransport(opts: SmtpTransportOptions): MailTransport {
  const server = parseServer(opts.url);

  async function ehlo(c: Connection): Promise<Map<string, string[]>> {
    const r = await c.command(`EHLO ${opts.heloName}\r\n`, "EHLO");
    if (is2xx(r.code)) return ehloExtensions(r);
    // A server that predates ESMTP: HELO, and none of the extensions.
    expect(await c.command(`HELO ${opts.heloName}\r\n`, "HELO"), is2xx, "HELO");
    return new Map();
  }

  async function authenticate(c: Connection, ext: Map<string, string[]>): Promise<void> {
    if (!credentialsAllowed(server.host, c.encrypted)) {
      throw new MailError("refusing to send mail server credentials over an unencrypted connection (use smtps:// or STARTTLS)");
    }
    const mechanisms = ext.get("AUTH") ?? [];
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    if (mechanisms.includes("PLAIN")) {
      expect(await c.command(`AUTH PLAIN ${b64(`\0${server.user}\0${server.password}`)}\r\n`, "AUTH PLAIN"), (code) => code === 235, "AUTH PLAIN");
    } else if (mechanisms.includes("LOGIN")) {
      expect(await c.command("AUTH LOGIN\r\n", "AUTH LOGIN"), (code) => code === 334, "AUTH LOGIN");
      expect(await c.command(`${b64(server.user)}\r\n`, "AUTH LOGIN user name"), (code) => code === 334, "AUTH LOGIN user name");
      expect(await c.command(`${b64(server.password)}\r\n`, "AUTH LOGIN password"), (code) => code === 235, "AUTH LOGIN password");
    } else {
      throw new MailError(`mail server offers no supported AUTH mechanism (PLAIN, LOGIN); it offers: ${mechanisms.join(" ") || "none"}`);
    }
  }

  async function open(): Promise<MailSession> {
    const socket = await handshake(
      () => (server.implicitTls ? tlsConnect({ port: server.port, ...tlsTarget(server.host), ...(opts.ca ? { ca: opts.ca } : {}) }) : netConnect({ host: server.host, port: server.port })),
      server.implicitTls ? "secureConnect" : "connect",
      opts.timeoutMs,
      `connecting to ${server.host}:${server.port}`,
    );
    const c = new Connection(socket, opts.timeoutMs);
    try {
      expect(await c.read("the greeting"), (code) => code === 220, "the session");
      let ext = await ehlo(c);
      if (!c.encrypted && opts.starttls !== "never") {
        if (ext.has("STARTTLS")) {
          expect(await c.command("STARTTLS\r\n", "STARTTLS"), (code) => code === 220, "STARTTLS");
          await c.upgrade(server.host, opts.ca);
          ext = await ehlo(c); // RFC 3207: forget everything learnt before the handshake
        } else if (opts.starttls === "always") {
          throw new MailError("mail server does not offer STARTTLS, and SMTP_STARTTLS is always");
        }
      }
      if (server.user) await authenticate(c, ext);
    } catch (err) {
      c.destroy();
      throw err instanceof MailError ? err : new MailError(`mail session failed: ${(err as Error).message}`, { cause: err });
    }
    return session(c);
  }

  function session(c: Connection): MailSession {
    let dirty = false;
    return {
      async send(envelope: Envelope, message: string) {
        // After a refused transaction the server still holds its state: start clean.
        if (dirty) {
          await c.command("RSET\r\n", "RSET");
          dirty = false;
        }
        dirty = true;
        expect(await c.command(`MAIL FROM:<${envelope.from}>\r\n`, "MAIL FROM"), is2xx, "the sender");
        expect(await c.command(`RCPT TO:<${envelope.to}>\r\n`, "RCPT TO"), is2xx, "the recipient", { permanentOn5xx: true });
        expect(await c.command("DATA\r\n", "DATA"), (code) => code === 354, "DATA");
        expect(await c.command(dotStuff(message), "the message"), is2xx, "the message", { permanentOn5xx: true });
        dirty = false;
      },
      async close() {
        try {
          await c.command("QUIT\r\n", "QUIT");
        } catch {
          // The server may hang up first; the mail is delivered either way.
        } finally {
          c.destroy();
        }
      },
    };
  }

  return { name: "smtp", open };
}
