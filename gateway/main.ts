// The gateway as its own process (a container's entry point): JSON/Connect, gRPC-Web and gRPC
// for clients on GATEWAY_PORT, forwarding to the services at <NAME>_ADDR, and the process's
// Prometheus metrics on METRICS_PORT. See README.md.
import { startMetricsServer } from "../platform/metrics/index.js";
import { startGateway } from "./start.js";

try {
  // The handlers come first: a SIGTERM during start-up waits for it, then drains.
  const started = (async () => {
    const gateway = await startGateway();
    try {
      return { gateway, metrics: await startMetricsServer({ port: gateway.config.METRICS_PORT, host: gateway.config.GATEWAY_HOST, log: gateway.log }) };
    } catch (err) {
      await gateway.stop();
      throw err;
    }
  })();
  const onSignal = (signal: string) => {
    process.stdout.write(JSON.stringify({ service: "gateway", msg: "shutting down", signal }) + "\n");
    void started
      .then(({ gateway, metrics }) => gateway.stop().then(() => metrics.close()))
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  await started;
} catch (err) {
  process.stderr.write(`gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
