// A local SMTP server for the tests, on node:net (127.0.0.1): it answers EHLO with a multi-line
// reply, takes AUTH PLAIN/LOGIN and STARTTLS when asked to, and records every envelope and the
// DATA it received, both as sent on the wire (dot-stuffed) and as the message it means.
import { createServer, type Server, type Socket } from "node:net";
import { TLSSocket, createSecureContext } from "node:tls";

export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  /** DATA exactly as it came over the wire, end marker excluded. */
  readonly wire: string;
  /** The message after removing dot-stuffing. */
  readonly data: string;
}

export interface SmtpServerOptions {
  /** Listen on this port (0: any free one). */
  readonly port?: number;
  /** Offer AUTH and require it before MAIL FROM. */
  readonly credentials?: { readonly user: string; readonly password: string };
  /** Only advertise this AUTH mechanism. */
  readonly authMechanism?: "PLAIN" | "LOGIN";
  /** Offer STARTTLS with this certificate. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Answer EHLO with 502, as a server that predates ESMTP does. */
  readonly noEhlo?: boolean;
  /** RCPT TO for these addresses is refused with this reply. */
  readonly refuse?: ReadonlyMap<string, string>;
}

export interface TestSmtpServer {
  readonly port: number;
  readonly url: string;
  readonly mails: ReceivedMail[];
  /** Every command line received, AUTH payloads replaced by "***". */
  readonly commands: string[];
  /** Sessions that completed a STARTTLS handshake. */
  readonly tlsSessions: number;
  stop(): Promise<void>;
}

export async function startSmtpServer(opts: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const mails: ReceivedMail[] = [];
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  let tlsSessions = 0;

  const serve = (raw: Socket) => {
    sockets.add(raw);
    raw.on("close", () => sockets.delete(raw));
    raw.on("error", () => undefined);
    let socket: Socket = raw;
    let buffer = "";
    let inData = false;
    let dataLines: string[] = [];
    let from = "";
    let to: string[] = [];
    let authed = !opts.credentials;
    let login: { step: "user" | "password"; user?: string } | undefined;
    const reply = (...lines: string[]) => socket.write(lines.map((l, i) => `${l.slice(0, 3)}${i < lines.length - 1 ? "-" : " "}${l.slice(4)}\r\n`).join(""));

    const checkCredentials = (user: string, password: string) => {
      authed = user === opts.credentials?.user && password === opts.credentials?.password;
      reply(authed ? "235 2.7.0 authenticated" : "535 5.7.8 bad credentials");
    };

    const onLine = (line: string) => {
      if (inData) {
        if (line === ".") {
          inData = false;
          const wire = dataLines.join("\r\n") + "\r\n";
          const data = dataLines.map((l) => (l.startsWith(".") ? l.slice(1) : l)).join("\r\n") + "\r\n";
          mails.push({ from, to, wire, data });
          dataLines = [];
          reply("250 2.0.0 queued");
        } else {
          dataLines.push(line);
        }
        return;
      }
      if (login) {
        commands.push("***");
        const decoded = Buffer.from(line, "base64").toString("utf8");
        if (login.step === "user") {
          login = { step: "password", user: decoded };
          reply(`334 ${Buffer.from("Password:").toString("base64")}`);
        } else {
          const user = login.user ?? "";
          login = undefined;
          checkCredentials(user, decoded);
        }
        return;
      }
      const verb = line.split(" ")[0]!.toUpperCase();
      commands.push(verb === "AUTH" ? line.split(" ").slice(0, 2).join(" ") + " ***" : line);
      switch (verb) {
        case "EHLO": {
          if (opts.noEhlo) return void reply("502 5.5.1 EHLO not supported");
          const mechanisms = opts.authMechanism ?? "PLAIN LOGIN";
          reply(
            "250 smtp.test greets you",
            "250 PIPELINING",
            "250 8BITMIME",
            ...(opts.credentials ? [`250 AUTH ${mechanisms}`] : []),
            ...(opts.tls && !(socket instanceof TLSSocket) ? ["250 STARTTLS"] : []),
            "250 SIZE 10240000",
          );
          return;
        }
        case "HELO":
          return void reply("250 smtp.test");
        case "STARTTLS": {
          if (!opts.tls) return void reply("502 5.5.1 not offered");
          reply("220 2.0.0 ready to start TLS");
          raw.off("data", onData);
          const secure = new TLSSocket(raw, { isServer: true, secureContext: createSecureContext({ cert: opts.tls.cert, key: opts.tls.key }) });
          secure.on("secure", () => tlsSessions++);
          secure.on("error", () => undefined);
          socket = secure;
          buffer = "";
          secure.on("data", onData);
          return;
        }
        case "AUTH": {
          const [, mechanism, initial] = line.split(" ");
          if (mechanism?.toUpperCase() === "PLAIN" && initial) {
            const [, user, password] = Buffer.from(initial, "base64").toString("utf8").split("\0");
            return checkCredentials(user ?? "", password ?? "");
          }
          if (mechanism?.toUpperCase() === "LOGIN") {
            login = { step: "user" };
            return void reply(`334 ${Buffer.from("Username:").toString("base64")}`);
          }
          return void reply("504 5.5.4 mechanism not supported");
        }
        case "MAIL":
          if (!authed) return void reply("530 5.7.0 authentication required");
          from = /<([^>]*)>/.exec(line)?.[1] ?? "";
          to = [];
          return void reply("250 2.1.0 ok");
        case "RCPT": {
          const rcpt = /<([^>]*)>/.exec(line)?.[1] ?? "";
          const refused = opts.refuse?.get(rcpt);
          if (refused) return void reply(refused);
          to.push(rcpt);
          return void reply("250 2.1.5 ok");
        }
        case "DATA":
          inData = true;
          return void reply("354 end with <CRLF>.<CRLF>");
        case "RSET":
          from = "";
          to = [];
          return void reply("250 2.0.0 reset");
        case "NOOP":
          return void reply("250 2.0.0 ok");
        case "QUIT":
          reply("221 2.0.0 bye");
          return void socket.end();
        default:
          return void reply("500 5.5.2 unknown command");
      }
    };

    function onData(d: Buffer) {
      buffer += d.toString("latin1");
      for (let eol = buffer.indexOf("\r\n"); eol >= 0; eol = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        onLine(line);
      }
    }

    raw.on("data", onData);
    reply("220 smtp.test ESMTP ready");
  };

  const server: Server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  const auth = opts.credentials ? `${encodeURIComponent(opts.credentials.user)}:${encodeURIComponent(opts.credentials.password)}@` : "";
  return {
    port,
    url: `smtp://${auth}127.0.0.1:${port}`,
    mails,
    commands,
    get tlsSessions() {
      return tlsSessions;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The text of a quoted-printable body part. */
export function decodeQuotedPrintable(s: string): string {
  const bytes: number[] = [];
  const text = s.replace(/=\r?\n/g, "");
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "=" && /^[0-9A-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The decoded plain-text part of a message built by mime.ts. */
export function textPart(message: string): string {
  const m = /Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n([\s\S]*?)\r\n--/.exec(message);
  if (!m) throw new Error("no text/plain part in the message");
  return decodeQuotedPrintable(m[1]!);
}

/** A header's raw value. */
export function header(message: string, name: string): string | undefined {
  const head = message.split("\r\n\r\n")[0] ?? "";
  const m = new RegExp(`^${name}: (.*(?:\\r\\n[ \\t].*)*)`, "im").exec(head);
  return m?.[1];
}
