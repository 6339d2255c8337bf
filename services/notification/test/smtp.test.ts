// The SMTP client against a local SMTP server (test/smtp-server.ts on 127.0.0.1): a multi-line
// EHLO, dot-stuffing, AUTH PLAIN and LOGIN, STARTTLS with a throwaway CA, permanent and transient
// refusals, a server that is down and one that never answers. And the folder transport.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildMessage } from "../mime.js";
import { createFolderTransport } from "../transports/folder.js";
import { createSmtpTransport, credentialsAllowed, type SmtpTransportOptions } from "../transports/smtp.js";
import { MailError } from "../transports/transport.js";
import { freePort } from "./helpers.js";
import { header, startSmtpServer, textPart, type TestSmtpServer } from "./smtp-server.js";

const envelope = { from: "shop@notification.test", to: "ada@example.test" };
const message = (text: string, id = "m1") =>
  buildMessage({ id, from: { name: "Shop", address: envelope.from }, to: envelope.to, date: new Date(), subject: "Hello", text, html: "<p>hi</p>" });

const smtp = (url: string, extra: Partial<SmtpTransportOptions> = {}) =>
  createSmtpTransport({ url, heloName: "client.test", timeoutMs: 2000, starttls: "auto", ...extra });

async function sendOne(url: string, body: string, extra: Partial<SmtpTransportOptions> = {}): Promise<void> {
  const session = await smtp(url, extra).open();
  try {
    await session.send(envelope, message(body));
  } finally {
    await session.close();
  }
}

async function mailErrorOf(p: Promise<unknown>): Promise<MailError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof MailError) return err;
    throw err;
  }
  throw new Error("expected a MailError");
}

/** A throwaway CA and a certificate for 127.0.0.1, made by the openssl CLI. */
function makeCertificates(dir: string) {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=smtp.test");
  ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "server.ext");
  const read = (n: string) => readFileSync(join(dir, n), "utf8");
  return { ca: read("ca.crt"), cert: read("server.crt"), key: read("server.key") };
}

describe("SMTP client (local SMTP server on 127.0.0.1)", () => {
  let server: TestSmtpServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it("delivers envelope and message after a multi-line EHLO, dot-stuffing lines that start with a dot", async () => {
    server = await startSmtpServer();
    const body = "first line\n.hidden line\n.\n..two dots\nlast";
    await sendOne(server.url, body);
    assert.equal(server.mails.length, 1);
    const [mail] = server.mails;
    assert.equal(mail!.from, envelope.from);
    assert.deepEqual(mail!.to, [envelope.to]);
    // On the wire every leading dot was doubled, so the lone "." never ended DATA early...
    assert.match(mail!.wire, /\r\n\.\.hidden line\r\n\.\.\r\n\.\.\.two dots\r\n/);
    // ...and after un-stuffing the message is exactly what was sent.
    assert.equal(textPart(mail!.data), body.replace(/\n/g, "\r\n"));
    assert.equal(header(mail!.data, "Subject"), "Hello");
    assert.deepEqual(server.commands.slice(0, 1), ["EHLO client.test"]);
    assert.equal(server.commands.at(-1), "QUIT");
  });

  it("falls back to HELO when the server refuses EHLO", async () => {
    server = await startSmtpServer({ noEhlo: true });
    await sendOne(server.url, "old school");
    assert.deepEqual(server.commands.slice(0, 2), ["EHLO client.test", "HELO client.test"]);
    assert.equal(server.mails.length, 1);
  });

  it("sends several mails over one session", async () => {
    server = await startSmtpServer();
    const session = await smtp(server.url).open();
    await session.send(envelope, message("one", "a"));
    await session.send({ ...envelope, to: "bob@example.test" }, message("two", "b"));
    await session.close();
    assert.deepEqual(server.mails.map((m) => m.to[0]), ["ada@example.test", "bob@example.test"]);
    assert.equal(server.commands.filter((c) => c.startsWith("EHLO")).length, 1);
  });

  for (const mechanism of ["PLAIN", "LOGIN"] as const) {
    it(`authenticates with AUTH ${mechanism} from the URL's credentials (percent-decoded)`, async () => {
      server = await startSmtpServer({ credentials: { user: "mailer", password: "s3cret:@/pw" }, authMechanism: mechanism });
      await sendOne(server.url, "authenticated");
      assert.equal(server.mails.length, 1);
      assert.ok(server.commands.includes(`AUTH ${mechanism} ***`));
    });
  }

  it("wrong credentials are a transient failure (an operator fixes them; the mails wait)", async () => {
    server = await startSmtpServer({ credentials: { user: "mailer", password: "right" } });
    const err = await mailErrorOf(sendOne(`smtp://mailer:wrong@127.0.0.1:${server.port}`, "x"));
    assert.equal(err.permanent, false);
    assert.match(err.message, /535/);
    assert.doesNotMatch(err.message, /wrong/);
    assert.equal(server.mails.length, 0);
  });

  describe("STARTTLS", () => {
    let dir: string;
    let certs: ReturnType<typeof makeCertificates>;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "smtp-tls-"));
      certs = makeCertificates(dir);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("upgrades when offered, says EHLO again, then authenticates over TLS", async () => {
      server = await startSmtpServer({ tls: { cert: certs.cert, key: certs.key }, credentials: { user: "u", password: "p" } });
      await sendOne(server.url, "over tls", { ca: certs.ca });
      assert.equal(server.tlsSessions, 1);
      assert.deepEqual(server.commands.slice(0, 3), ["EHLO client.test", "STARTTLS", "EHLO client.test"]);
      assert.equal(server.mails.length, 1);
    });

    it("refuses a certificate it cannot verify", async () => {
      server = await startSmtpServer({ tls: { cert: certs.cert, key: certs.key } });
      const err = await mailErrorOf(sendOne(server.url, "x"));
      assert.match(err.message, /STARTTLS handshake failed/);
      assert.equal(server.mails.length, 0);
    });

    it("always: fails when the server does not offer it; never: does not use it", async () => {
      server = await startSmtpServer();
      const err = await mailErrorOf(sendOne(server.url, "x", { starttls: "always" }));
      assert.match(err.message, /does not offer STARTTLS/);
      await server.stop();
      server = await startSmtpServer({ tls: { cert: certs.cert, key: certs.key } });
      await sendOne(server.url, "plain", { starttls: "never" });
      assert.equal(server.tlsSessions, 0);
      assert.equal(server.mails.length, 1);
    });
  });

  it("a 5xx to RCPT TO is permanent, a 4xx transient, and the session goes on with the next mail", async () => {
    server = await startSmtpServer({
      refuse: new Map([
        ["gone@example.test", "550 5.1.1 no such user"],
        ["busy@example.test", "451 4.3.0 try later"],
      ]),
    });
    const session = await smtp(server.url).open();
    const gone = await mailErrorOf(session.send({ ...envelope, to: "gone@example.test" }, message("x")));
    assert.equal(gone.permanent, true);
    assert.match(gone.message, /550 5\.1\.1 no such user/);
    const busy = await mailErrorOf(session.send({ ...envelope, to: "busy@example.test" }, message("x")));
    assert.equal(busy.permanent, false);
    await session.send(envelope, message("still fine"));
    await session.close();
    assert.equal(server.mails.length, 1);
    assert.ok(server.commands.includes("RSET"));
  });

  it("a server that is down is a transient failure", async () => {
    const err = await mailErrorOf(smtp(`smtp://127.0.0.1:${await freePort()}`).open());
    assert.equal(err.permanent, false);
    assert.equal(err.sessionLost, true);
  });

  it("a server that never answers fails the step after the timeout", async () => {
    const silent = createServer((s: Socket) => s.on("error", () => undefined));
    const sockets = new Set<Socket>();
    silent.on("connection", (s: Socket) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = silent.address() as { port: number };
      const err = await mailErrorOf(smtp(`smtp://127.0.0.1:${port}`, { timeoutMs: 100 }).open());
      assert.match(err.message, /did not answer the greeting/);
      assert.equal(err.permanent, false);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("sends credentials in the clear only to this machine", async () => {
    assert.equal(credentialsAllowed("smtp.example.com", false), false);
    assert.equal(credentialsAllowed("10.0.0.5", false), false);
    assert.equal(credentialsAllowed("smtp.example.com", true), true);
    assert.equal(credentialsAllowed("127.0.0.1", false), true);
    server = await startSmtpServer({ credentials: { user: "u", password: "p" } });
    await sendOne(`smtp://u:p@localhost:${server.port}`, "local is fine");
    assert.equal(server.mails.length, 1);
  });
});

describe("folder transport", () => {
  it("writes each mail as <id>.eml with its envelope recipient", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mail-outbox-"));
    try {
      const transport = createFolderTransport({ dir: join(dir, "nested") });
      const session = await transport.open();
      await session.send(envelope, message("hello from the folder", "3f1c"));
      await session.close();
      assert.deepEqual(readdirSync(join(dir, "nested")), ["3f1c.eml"]);
      const eml = readFileSync(transport.fileFor("3f1c"), "utf8");
      assert.match(eml, /^X-Envelope-To: ada@example\.test\r\n/);
      assert.equal(textPart(eml), "hello from the folder");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
