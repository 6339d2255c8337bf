// The gateway: one HTTP port serving the client-facing RPCs of every backend as Connect (JSON or
// binary, GET for read-only methods), gRPC-Web and gRPC, each forwarded over the platform's gRPC
// client. Every request runs, in order:
//
//   CORS preflight | /healthz /readyz /openapi.json /.well-known/jwks.json
//   -> route (only PUBLIC/USER/ADMIN methods exist here) -> rate limit per client address
//   -> body limit -> authenticate (JWT against the users JWKS) -> rate limit per user
//   -> access level from the contract -> public cache (anonymous GETs of public reads)
//   -> Connect's handler, which decodes, forwards and encodes -> ETag / Cache-Control on GETs
//
// all inside one SERVER span whose context the backend call continues, so a request is one trace.
// Every answer is counted in shop_http_server_requests_total / _duration_seconds, labelled with
// the RPC path or the fixed route (anything else is `other`): never the raw URL, whose query
// strings and unknown paths would make the series unbounded.
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, createContextValues, type ServiceImpl } from "@connectrpc/connect";
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { JwksSource, JwtVerifier } from "../platform/auth/jwt-verifier.js";
import type { Logger } from "../platform/logger.js";
import { recordHttpRequest } from "../platform/metrics/index.js";
import { SpanKind, SpanStatusCode, context, extractContext, getTracer, trace } from "../platform/telemetry.js";
import { accessOf, authenticate, denial, isExposed, type Access, type Caller } from "./access.js";
import type { Backend } from "./backends.js";
import type { GatewayConfig } from "./config.js";
import { createCorsPolicy } from "./cors.js";
import { writeRpcError } from "./error-response.js";
import { forwardedKey, forwardingImpl } from "./forward.js";
import { createReadiness } from "./health.js";
import { createResponseCache, etagOf, ifNoneMatchHits, PRIVATE_NO_STORE, publicCacheControl } from "./http-cache.js";
import type { NodeRequest, NodeResponse, RequestHandler } from "./http-server.js";
import { buildOpenApi } from "./openapi.js";
import { createRateLimiter } from "./rate-limit.js";

export interface GatewayParts {
  readonly config: GatewayConfig;
  readonly log: Logger;
  readonly backends: readonly Backend[];
  readonly verifier: JwtVerifier & JwksSource;
}

export interface GatewayHandler {
  readonly handle: RequestHandler;
  /** Readiness turns false; call before draining. */
  stopAccepting(): void;
  close(): void;
}

interface Route {
  readonly method: DescMethod;
  readonly access: Access;
  readonly publicRead: boolean;
  readonly handler: UniversalHandler;
}

const tracer = getTracer("shop.gateway");

/** The users service's keys at /.well-known/jwks.json are fetched again after this long, and cached by clients as long. */
export const JWKS_MAX_AGE_MS = 60_000;

const fixedRoutes = new Set(["/healthz", "/readyz", "/openapi.json", "/.well-known/jwks.json"]);

export function createGatewayHandler(parts: GatewayParts): GatewayHandler {
  const { config, log, backends, verifier } = parts;
  const cors = createCorsPolicy(config.CORS_ORIGINS);
  const ipLimiter = createRateLimiter({ ratePerSec: config.RATE_LIMIT_IP_RATE, burst: config.RATE_LIMIT_IP_BURST, maxKeys: config.RATE_LIMIT_MAX_KEYS });
  const userLimiter = createRateLimiter({ ratePerSec: config.RATE_LIMIT_USER_RATE, burst: config.RATE_LIMIT_USER_BURST, maxKeys: config.RATE_LIMIT_MAX_KEYS });
  const cache = createResponseCache({ maxEntries: config.PUBLIC_CACHE_ENTRIES, ttlMs: config.PUBLIC_CACHE_MAX_AGE });
  const publicCacheHeader = publicCacheControl(config.PUBLIC_CACHE_MAX_AGE);
  // A backend this shop runs without does not hold readiness back (its RPCs say it is off).
  const readiness = createReadiness(backends.filter((b) => !b.off).map((b) => ({ name: b.name, health: b.health })));

  const router = createConnectRouter({ readMaxBytes: config.BODY_LIMIT, grpc: true, grpcWeb: true, connect: true });
  const exposed: DescMethod[] = [];
  for (const backend of backends) {
    const methods = backend.service.methods.filter(isExposed);
    const impl = Object.fromEntries(methods.map((m) => [m.localName, forwardingImpl(m, backend, log)]));
    router.service(backend.service, impl as unknown as ServiceImpl<typeof backend.service>);
    exposed.push(...methods);
  }
  const publicReads = new Set(backends.flatMap((b) => (b.publicReads ?? []).map((m) => `/${b.service.typeName}/${m}`)));
  const routes = new Map<string, Route>();
  for (const h of router.handlers) {
    routes.set(h.requestPath, { method: h.method, access: accessOf(h.method), publicRead: publicReads.has(h.requestPath), handler: h });
  }
  const openApiBody = Buffer.from(JSON.stringify(buildOpenApi(exposed)));

  const clientIp = (req: NodeRequest): string => {
    if (config.TRUST_PROXY) {
      const xff = req.headers["x-forwarded-for"];
      const first = (Array.isArray(xff) ? xff[0] : xff)?.split(",")[0]?.trim();
      if (first) return first;
    }
    return req.socket.remoteAddress ?? "unknown";
  };

  async function serve(req: NodeRequest, res: NodeResponse, path: string, corsHeaders: Record<string, string> | undefined): Promise<number> {
    const fail = (err: ConnectError, extra: Record<string, string> = {}, httpStatus?: number) =>
      writeRpcError(req.headers, res, err, { headers: { ...corsHeaders, ...extra }, ...(httpStatus ? { httpStatus } : {}) });

    const route = routes.get(path);
    if (!route) return fail(new ConnectError(`no method ${path}`, Code.NotFound));

    const ipWait = ipLimiter.take(clientIp(req));
    if (ipWait > 0) return fail(new ConnectError("too many requests from this address", Code.ResourceExhausted), { "retry-after": String(ipWait) });

    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > config.BODY_LIMIT) {
      return fail(new ConnectError(`request body over ${config.BODY_LIMIT} bytes`, Code.ResourceExhausted), { connection: "close" }, 413);
    }

    const authorization = req.headers.authorization;
    let caller: Caller | undefined;
    try {
      caller = await authenticate(authorization, verifier);
    } catch (err) {
      return fail(ConnectError.from(err));
    }
    if (caller) {
      const userWait = userLimiter.take(caller.subject);
      if (userWait > 0) return fail(new ConnectError("too many requests from this user", Code.ResourceExhausted), { "retry-after": String(userWait) });
    }
    const denied = denial(route.access, caller);
    if (denied) return fail(denied);

    const isGet = req.method === "GET";
    const cacheable = isGet && route.publicRead && caller === undefined;
    const cacheKey = req.url ?? path;
    if (cacheable) {
      const hit = cache.get(cacheKey, Date.now());
      if (hit) return writeBuffered(req, res, 200, { ...hit.headers, ...corsHeaders }, hit.body, hit.etag);
    }

    const values = createContextValues().set(forwardedKey, { clientIp: clientIp(req), authorization });
    const uRes = await route.handler(universalRequestFromNodeRequest(req, res, undefined, values));
    if (!isGet || uRes.status !== 200) {
      for (const [k, v] of Object.entries(corsHeaders ?? {})) uRes.header?.set(k, v);
      await universalResponseToNodeResponse(uRes, res);
      return uRes.status;
    }
    // A GET answer: buffered so it gets a validator and a caching policy.
    const body = await collect(uRes);
    const etag = etagOf(body);
    const headers: Record<string, string> = {};
    uRes.header?.forEach((v, k) => (headers[k] = v));
    headers["cache-control"] = cacheable ? publicCacheHeader : PRIVATE_NO_STORE;
    headers["vary"] = "Authorization, Accept-Encoding";
    delete headers["content-length"];
    if (cacheable) cache.set(cacheKey, { body, etag, headers: { ...headers, etag }, storedAt: Date.now() });
    return writeBuffered(req, res, 200, { ...headers, ...corsHeaders }, body, etag);
  }

  /** The users service's public keys as a JWK Set (Istio's RequestAuthentication reads it). */
  async function serveJwks(req: NodeRequest, res: NodeResponse, corsHeaders: Record<string, string> | undefined): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") return writeRaw(res, 405, { allow: "GET, HEAD" }, undefined);
    try {
      const keys = await verifier.publicKeys(JWKS_MAX_AGE_MS);
      const headers = { "content-type": "application/json", "cache-control": `public, max-age=${JWKS_MAX_AGE_MS / 1000}`, ...corsHeaders };
      writeRaw(res, 200, headers, Buffer.from(JSON.stringify({ keys })));
    } catch (err) {
      log.warn("cannot serve the JWKS", { err });
      writeJson(res, 503, { error: "the signing keys are not available right now" });
    }
  }

  const handle: RequestHandler = (req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? "/").split("?", 1)[0]!;
    const procedure = req.method === "OPTIONS" ? "preflight" : routes.has(path) || fixedRoutes.has(path) ? path : "other";
    // 499 (nginx's "client closed request"): the client went away before the answer was sent.
    res.once("close", () => {
      recordHttpRequest({ service: "gateway", procedure }, res.writableFinished ? res.statusCode : 499, Number(process.hrtime.bigint() - started) / 1e9);
    });
    const origin = req.headers.origin;
    if (req.method === "OPTIONS") {
      const pre = cors.preflight(origin, req.headers["access-control-request-method"]);
      res.writeHead(pre.status, pre.headers);
      res.end();
      return;
    }
    const corsHeaders = cors.responseHeaders(origin) as Record<string, string> | undefined;
    if (path === "/healthz") return void writeJson(res, 200, { status: "ok" });
    if (path === "/readyz") {
      void readiness.check().then((r) => writeJson(res, r.ready ? 200 : 503, r), () => writeJson(res, 503, { ready: false }));
      return;
    }
    if (path === "/openapi.json") return void writeRaw(res, 200, { "content-type": "application/json", ...corsHeaders }, openApiBody);
    if (path === "/.well-known/jwks.json") return void serveJwks(req, res, corsHeaders);

    const parent = extractContext(req.headers, context.active());
    const span = tracer.startSpan(`${req.method} ${path}`, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": req.method ?? "", "url.path": path, "network.protocol.version": req.httpVersion },
    }, parent);
    context.with(trace.setSpan(parent, span), () => serve(req, res, path, corsHeaders)).then(
      (status) => {
        if (span.isRecording()) span.setAttribute("http.response.status_code", status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
      (err: unknown) => {
        // Connect handlers turn every failure into a response, so this is a gateway bug or a
        // client that went away mid-write; answer if we still can.
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        if (ConnectError.from(err).code === Code.Aborted) return;
        log.error("request failed in the gateway", { path, err });
        if (!res.headersSent) writeRpcError(req.headers, res, new ConnectError("internal error", Code.Internal));
        else res.destroy();
      },
    );
  };

  return {
    handle,
    stopAccepting: () => readiness.stop(),
    close() {
      ipLimiter.close();
      userLimiter.close();
      cache.clear();
    },
  };
}

async function collect(uRes: UniversalServerResponse): Promise<Buffer> {
  if (!uRes.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  for await (const c of uRes.body) chunks.push(c);
  return Buffer.concat(chunks);
}

function writeBuffered(req: NodeRequest, res: NodeResponse, status: number, headers: Record<string, string>, body: Buffer, etag: string): number {
  if (ifNoneMatchHits(req.headers["if-none-match"], etag)) {
    const notModified: Record<string, string> = { etag };
    for (const k of ["cache-control", "vary", "access-control-allow-origin", "access-control-expose-headers"]) if (headers[k]) notModified[k] = headers[k];
    writeRaw(res, 304, notModified, undefined);
    return 304;
  }
  writeRaw(res, status, { ...headers, etag, "content-length": String(body.byteLength) }, body);
  return status;
}

function writeRaw(res: NodeResponse, status: number, headers: Record<string, string>, body: Buffer | undefined): void {
  res.writeHead(status, headers);
  if (body) res.end(body);
  else res.end();
}

function writeJson(res: NodeResponse, status: number, value: unknown): void {
  writeRaw(res, status, { "content-type": "application/json", "cache-control": "no-store" }, Buffer.from(JSON.stringify(value)));
}
