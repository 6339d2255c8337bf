// The gateway's settings, parsed once at start-up by platform/config.ts. Each backend in
// backends.ts adds its `<NAME>_ADDR` here, so exposing a new service needs no edit in this file.
import { bool, duration, int, list, oneOf, optional, port, str, url, type ConfigOf, type Setting } from "../platform/config.js";
import { metricsConfig } from "../platform/metrics/config.js";
import { backends } from "./backends.js";

/** Sizes like `1MiB`, `512KiB`, `64kb` or a bare number of bytes. */
export function byteSize(opts: { doc: string; default: number }): Setting<number> {
  const units: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1024 * 1024 };
  return {
    doc: opts.doc,
    fallback: () => opts.default,
    parse(raw) {
      const m = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i.exec(raw.trim());
      if (!m) throw new Error("expected a size such as 1048576, 512KiB or 1MiB");
      const bytes = Number(m[1]) * units[(m[2] ?? "b").toLowerCase()]!;
      if (bytes < 1) throw new Error("expected a positive size");
      return bytes;
    },
  };
}

/** A rate in requests per second; decimals allowed (0.5 = one request every two seconds). */
function rate(opts: { doc: string; default: number }): Setting<number> {
  return {
    doc: opts.doc,
    fallback: () => opts.default,
    parse(raw) {
      const n = Number(raw.trim());
      if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(n > 0)) throw new Error("expected a positive number of requests per second");
      return n;
    },
  };
}

type AddressKey = `${Uppercase<string>}_ADDR`;

const backendAddresses = Object.fromEntries(
  backends.map((b) => [
    addressSetting(b.name),
    str({ doc: `${b.name} service gRPC address${b.optional ? ", or `off` when this shop runs without it" : ""}`, default: `127.0.0.1:${b.defaultPort}` }),
  ]),
) as Record<AddressKey, Setting<string>>;

/** `catalog` -> `CATALOG_ADDR`. */
export function addressSetting(backendName: string): AddressKey {
  return `${backendName.toUpperCase()}_ADDR` as AddressKey;
}

export const gatewayConfig = {
  GATEWAY_HOST: str({ doc: "interface the gateway binds", default: "0.0.0.0" }),
  GATEWAY_PORT: port({ doc: "HTTP port (HTTP/1.1 and cleartext HTTP/2 on the same port)", default: 8080 }),
  ...backendAddresses,
  AUTH_ISSUER: str({ doc: "`iss` of access tokens (the users service's issuer)", default: "shop-users" }),
  AUTH_AUDIENCE: str({ doc: "`aud` access tokens must carry", default: "shop" }),
  CORS_ORIGINS: list({ doc: "browser origins allowed to call the API (e.g. https://shop.example); `*` allows any; empty allows none", default: [] }),
  RATE_LIMIT_IP_RATE: rate({ doc: "sustained requests per second per client address", default: 50 }),
  RATE_LIMIT_IP_BURST: int({ doc: "requests a client address may send at once above its rate", default: 100, min: 1 }),
  RATE_LIMIT_USER_RATE: rate({ doc: "sustained requests per second per signed-in user", default: 20 }),
  RATE_LIMIT_USER_BURST: int({ doc: "requests a signed-in user may send at once above their rate", default: 40, min: 1 }),
  RATE_LIMIT_MAX_KEYS: int({ doc: "client addresses and users tracked per limiter (memory bound; the idlest are forgotten first)", default: 100_000, min: 100 }),
  BODY_LIMIT: byteSize({ doc: "largest request message accepted (bytes, or e.g. 1MiB)", default: 1024 * 1024 }),
  TRUST_PROXY: bool({ doc: "take the client address from X-Forwarded-For's first hop (only behind a proxy that sets it)", default: false }),
  PUBLIC_CACHE_MAX_AGE: duration({ doc: "max-age of public, anonymous GET responses (catalog reads); also how long the gateway reuses them", default: 10_000 }),
  PUBLIC_CACHE_ENTRIES: int({ doc: "public GET responses kept in memory by the gateway; 0 turns its cache off", default: 10_000, min: 0 }),
  BACKEND_TIMEOUT: duration({ doc: "longest a call to a backend may take (clients may ask for less with Connect-Timeout-Ms)", default: 5_000 }),
  SHUTDOWN_GRACE: duration({ doc: "time in-flight requests get to finish on SIGTERM", default: 10_000 }),
  LOG_LEVEL: oneOf(["debug", "info", "warn", "error"] as const, { doc: "lowest level logged", default: "info" }),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(url({ doc: "OTLP/HTTP collector, e.g. http://jaeger:4318; unset: spans not exported" })),
  // Served by the gateway's own process (main.ts) on its own port, never on GATEWAY_PORT, which
  // the ingress exposes to the internet.
  ...metricsConfig,
};

export type GatewayConfig = ConfigOf<typeof gatewayConfig>;
