// The per-process /metrics endpoint Prometheus scrapes. It listens on its own port
// (METRICS_PORT), never the gRPC or public HTTP one: the gateway's port is reachable from the
// internet through the ingress, and metrics are for the cluster only.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.js";
import { metricsText, registry } from "./registry.js";

export interface MetricsServerOptions {
  readonly port: number;
  /** Interface to bind; default all (the kubelet and Prometheus reach the pod IP). */
  readonly host?: string;
  /** Where "metrics server listening" (with the bound port) is logged. */
  readonly log?: Logger;
}

export interface MetricsServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: MetricsServerOptions | number): Promise<MetricsServer> {
  const { port, host = "0.0.0.0", log } = typeof opts === "number" ? { port: opts } : opts;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found; metrics are at /metrics\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    metricsText().then(
      (body) => {
        res.writeHead(200, { "content-type": registry.contentType });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      () => {
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics collection failed\n");
      },
    );
  });
  // Scrapes are short and periodic; an idle keep-alive socket must not hold shutdown up.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    // A taken port stops the start-up with a message naming the setting.
    const fail = (err: Error) => reject(new Error(`METRICS_PORT ${port}: ${err.message}`, { cause: err }));
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  log?.info("metrics server listening", { port: bound, path: "/metrics" });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
