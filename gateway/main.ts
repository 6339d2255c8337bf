// The gateway as its own process (a container's entry point): JSON/Connect, gRPC-Web and gRPC
// for clients on GATEWAY_PORT, forwarding to the services at <NAME>_ADDR. See README.md.
import { startGateway } from "./start.js";

try {
  const gateway = await startGateway();
  const onSignal = (signal: string) => {
    process.stdout.write(JSON.stringify({ service: "gateway", msg: "shutting down", signal }) + "\n");
    void gateway.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
} catch (err) {
  process.stderr.write(`gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
