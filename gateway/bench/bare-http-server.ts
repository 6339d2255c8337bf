// The baseline of the storefront benchmark: node:http answering one fixed JSON body (sent by
// the parent over IPC) on every request, with nothing else in the way.
import http from "node:http";

process.once("message", (body: string) => {
  const bytes = Buffer.from(body);
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": bytes.byteLength });
    res.end(bytes);
  });
  server.listen(0, "127.0.0.1", () => process.send!((server.address() as { port: number }).port));
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
});
