// The gateway as its own process (a container's entry point): JSON/Connect, gRPC-Web and gRPC
// for clients on GATEWAY_PORT, forwarding to the services at <NAME>_ADDR, and the process's
// Prometheus metrics on METRICS_PORT. See README.md.
import { startMetricsServer, type MetricsServer } from "../platform/metrics/index.js";
import { startGateway } from "./start.js";

try {
  const gateway = await startGateway();
  let metrics: MetricsServer;
  try {
    metrics = await startMetricsServer({ port: gateway.config.METRICS_PORT, host: gateway.config.GATEWAY_HOST, log: gateway.log });
  } catch (err) {
    await gateway.stop();
    throw err;
  }
  const onSignal = (signal: string) => {
    process.stdout.write(JSON.stringify({ service: "gateway", msg: "shutting down", signal }) + "\n");
    void gateway
      .stop()
      .then(() => metrics.close())
      .then(() => process.exit(0));
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
} catch (err) {
  process.stderr.write(`gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
