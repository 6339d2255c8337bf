// One TCP port serving HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge, which is what
// gRPC clients and `curl --http2-prior-knowledge` speak).
//
// Node 20's http2.createServer ignores `allowHTTP1` without TLS, so the choice is made here per
// connection: the HTTP/2 connection preface starts with "PRI", which no HTTP/1 method does. The
// first bytes are read, pushed back, and the socket handed to the matching server. Behind TLS
// termination (the ingress or the mesh) this is what arrives.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
export type RequestHandler = (req: NodeRequest, res: NodeResponse) => void;

export interface DualServer {
  /** Resolves the bound port. */
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops accepting connections, lets requests in flight finish for `graceMs` (HTTP/2 sessions
   * get GOAWAY, idle HTTP/1.1 connections are closed, busy ones after their response), then
   * closes whatever is left.
   */
  close(graceMs: number): Promise<void>;
}

/** A client that connects and says nothing is dropped after this long. */
const FIRST_BYTES_TIMEOUT_MS = 10_000;

export function createDualServer(handler: RequestHandler): DualServer {
  const sockets = new Set<net.Socket>();
  const busy = new Map<net.Socket, number>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const http2Sockets = new WeakSet<net.Socket>();
  let closing = false;
  let inflight = 0;
  let idle: (() => void) | undefined;

  const tracked: RequestHandler = (req, res) => {
    inflight++;
    const h1 = req.httpVersionMajor === 1 ? (req.socket) : undefined;
    if (h1) busy.set(h1, (busy.get(h1) ?? 0) + 1);
    if (closing && h1) res.setHeader("connection", "close");
    res.once("close", () => {
      inflight--;
      if (h1) {
        const n = (busy.get(h1) ?? 1) - 1;
        if (n === 0) busy.delete(h1);
        else busy.set(h1, n);
        if (closing && n === 0) h1.destroySoon();
      }
      if (closing && inflight === 0) idle?.();
    });
    handler(req, res);
  };

  const h1 = http.createServer({ keepAliveTimeout: 65_000 }, tracked);
  const h2 = http2.createServer({}, tracked);
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
    if (closing) s.close();
  });

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
    const sniff = () => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) {
        socket.once("readable", sniff);
        return;
      }
      socket.setTimeout(0);
      socket.unshift(chunk);
      const isHttp2 = chunk[0] === 0x50 && (chunk.length < 2 || chunk[1] === 0x52); // "PR"
      if (isHttp2) http2Sockets.add(socket);
      (isHttp2 ? h2 : h1).emit("connection", socket);
    };
    socket.once("readable", sniff);
  });

  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as net.AddressInfo).port);
        });
      }),

    async close(graceMs) {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.close();
      for (const socket of sockets) {
        // An HTTP/1.1 connection between requests: nothing to wait for.
        if (!busy.has(socket) && !http2Sockets.has(socket)) socket.destroy();
      }
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          timer.unref();
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const s of sessions) s.destroy();
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
