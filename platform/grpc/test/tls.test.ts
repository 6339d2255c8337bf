import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "../../errors.js";
import { PRODUCT_ID, rejectionOf, sampleProduct, startCatalog, type RunningCatalog } from "./helpers.js";

const byId = { lookup: { case: "id" as const, value: PRODUCT_ID } };

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate, made by the openssl CLI. */
function makeCertificates(dir: string) {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=test-ca");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  for (const name of ["server", "client"]) {
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "1",
      ...(name === "server" ? ["-extfile", "server.ext"] : []));
  }
  const file = (n: string) => join(dir, n);
  return { ca: file("ca.crt"), serverCert: file("server.crt"), serverKey: file("server.key"), clientCert: file("client.crt"), clientKey: file("client.key") };
}

describe("grpc mTLS from certificate files", () => {
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;
  let catalog: RunningCatalog;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "grpc-tls-"));
    certs = makeCertificates(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    catalog = await startCatalog(
      { getProduct: async () => ({ product: sampleProduct() }) },
      { tls: { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.ca } },
    );
  });
  afterEach(() => catalog.stop());
  // By name, as certificates are checked against it (TLS forbids IP addresses as server names).
  const byName = () => catalog.address.replace("127.0.0.1", "localhost");

  it("serves a client presenting a certificate signed by the CA", async () => {
    const client = catalog.client({ address: byName(), tls: { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey } });
    const res = await client.getProduct(byId);
    assert.equal(res.product?.id, PRODUCT_ID);
  });

  it("turns away a client without a certificate, and a plaintext one", async () => {
    const noCert = catalog.client({ address: byName(), tls: { caFile: certs.ca }, retry: { maxAttempts: 1 } });
    assert.equal((await rejectionOf(noCert.getProduct(byId, { timeoutMs: 2000 }))).code, Code.UNAVAILABLE);
    const plaintext = catalog.client({ retry: { maxAttempts: 1 } });
    assert.equal((await rejectionOf(plaintext.getProduct(byId, { timeoutMs: 2000 }))).code, Code.UNAVAILABLE);
  });
});
