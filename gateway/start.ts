// The gateway's start-up, written once for its own process (main.ts), the single-process shop
// (`npm start`) and the tests: parse config, install telemetry and logs, connect a platform
// client per backend and the JWKS verifier, listen, and drain on stop. The /metrics endpoint is
// the process's, so main.ts (or the single-process shop) serves it, not this function.
import { createUsersJwksVerifier } from "../platform/auth/users-jwks.js";
import { describeConfig, loadConfig } from "../platform/config.js";
import { createLogger, type Logger } from "../platform/logger.js";
import { initTelemetry } from "../platform/telemetry.js";
import { backends as backendSpecs, connectBackends } from "./backends.js";
import { addressSetting, gatewayConfig, type GatewayConfig } from "./config.js";
import { createGatewayHandler } from "./gateway.js";
import { createDualServer } from "./http-server.js";

export interface RunningGateway {
  readonly port: number;
  /** `http://<host>:<port>`, with 127.0.0.1 for a wildcard bind. */
  readonly url: string;
  readonly config: GatewayConfig;
  readonly log: Logger;
  stop(): Promise<void>;
}

export async function startGateway(env: NodeJS.ProcessEnv = process.env): Promise<RunningGateway> {
  const config = loadConfig(gatewayConfig, env);
  initTelemetry({ serviceName: "gateway", otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const log = createLogger({ service: "gateway", level: config.LOG_LEVEL });
  log.info("starting", { config: describeConfig(gatewayConfig, config) });

  const addresses = config as unknown as Record<string, string>;
  const backends = connectBackends(backendSpecs, { addressOf: (name) => addresses[addressSetting(name)]!, timeoutMs: config.BACKEND_TIMEOUT });
  const usersAddress = backends.find((b) => b.name === "users")?.address ?? addresses[addressSetting("users")]!;
  const verifier = createUsersJwksVerifier({ address: usersAddress, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE });
  const gateway = createGatewayHandler({ config, log, backends, verifier });
  const server = createDualServer(gateway.handle);
  const port = await server.listen(config.GATEWAY_PORT, config.GATEWAY_HOST);
  const host = config.GATEWAY_HOST === "0.0.0.0" || config.GATEWAY_HOST === "::" ? "127.0.0.1" : config.GATEWAY_HOST;
  log.info("listening", { port });

  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `http://${host}:${port}`,
    config,
    log,
    stop: () =>
      (stopping ??= (async () => {
        gateway.stopAccepting();
        await server.close(config.SHUTDOWN_GRACE);
        gateway.close();
        verifier.close();
        for (const b of backends) b.close();
        log.info("stopped");
      })()),
  };
}
