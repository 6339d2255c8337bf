// The one way a service serves gRPC. A service's main.ts does, in a few lines:
//
//   const server = createGrpcServer({ service: "catalog", log, authenticate, readiness: [{ name: "postgres", check: db.ping }] });
//   server.add(CatalogService, createCatalogService({ store }));
//   await server.listen(`0.0.0.0:${config.GRPC_PORT}`);
//   onSignal(() => server.shutdown(10_000));
//
// and gets tracing, RPC metrics, deadlines, auth, validation and error mapping on every call
// (see method-handler.ts), the health service with real readiness, reflection, explicit resource
// limits, and a graceful shutdown that drains in-flight calls.
import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Server, type ServerOptions, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import type { Authenticate, CallContext } from "./call-context.js";
import { serverCredentials, type ServerTlsOptions } from "./credentials.js";
import { serverStreamingHandler, unaryHandler, type HandlerEnv, type ServerStreamingFn, type UnaryFn } from "./method-handler.js";
import { createReadiness, type ReadinessCheck } from "./readiness.js";
import { addReflection } from "./reflection.js";
import { createRequestValidator } from "./request-validator.js";
import { grpcServiceDefinition } from "./service-definition.js";

export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => Promise<MessageInitShape<O>>;

export type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => AsyncIterable<MessageInitShape<O>>;

type Methods<S extends DescService> = S["method"];
type Served = { methodKind: "unary" | "server_streaming" };

/**
 * Handlers for every unary and server-streaming method of a generated service, typed from its
 * descriptor. Client- and bidi-streaming methods are not part of the shop's contracts; they
 * answer UNIMPLEMENTED.
 */
export type ServiceImpl<S extends DescService> = {
  [K in keyof Methods<S> as Methods<S>[K] extends Served ? K : never]: Methods<S>[K] extends {
    methodKind: "unary";
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? UnaryImpl<I, O>
    : Methods<S>[K] extends { methodKind: "server_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? ServerStreamingImpl<I, O>
      : never;
};

export interface GrpcServerOptions {
  /** The service's name (`catalog`): the `service` label of its RPC metrics. */
  readonly service: string;
  readonly log: Logger;
  /** Establishes the caller from metadata on every call; without it every caller is anonymous. */
  readonly authenticate?: Authenticate;
  /** All must pass for the health service to say SERVING. */
  readonly readiness?: readonly ReadinessCheck[];
  /** How often readiness is re-checked; default 5 s. */
  readonly readinessIntervalMs?: number;
  /** Largest request accepted; default 4 MiB (grpc-js's own default, stated so it is a decision). */
  readonly maxReceiveMessageBytes?: number;
  /** Concurrent calls per connection; default 1000. */
  readonly maxConcurrentStreams?: number;
  /** Server-side HTTP/2 pings to detect dead clients; default every 60 s, 20 s to answer. */
  readonly keepalive?: { readonly timeMs?: number; readonly timeoutMs?: number };
  /** Close connections after this age so clients rebalance across new replicas; default never. */
  readonly maxConnectionAgeMs?: number;
  /** Serve reflection (for grpcurl); default true. */
  readonly reflection?: boolean;
  /** TLS or mTLS from files, for running outside the mesh. */
  readonly tls?: ServerTlsOptions;
}

export interface GrpcServer {
  add<S extends DescService>(service: S, impl: ServiceImpl<S>): void;
  /** Binds (e.g. `0.0.0.0:50051`, or port 0 for any) and starts; resolves the bound port. */
  listen(address: string): Promise<number>;
  /** Runs the readiness checks now and publishes the result (they also run periodically). */
  checkReadiness(): Promise<boolean>;
  /**
   * NOT_SERVING, stop accepting calls, let in-flight calls finish; after `graceMs` cancel
   * whatever is left. Long-lived streams (health Watch, live updates) end at the grace period.
   */
  shutdown(graceMs?: number): Promise<void>;
}

export function createGrpcServer(opts: GrpcServerOptions): GrpcServer {
  const log = opts.log;
  const options: ServerOptions = {
    "grpc.max_receive_message_length": opts.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    "grpc.max_concurrent_streams": opts.maxConcurrentStreams ?? 1000,
    "grpc.keepalive_time_ms": opts.keepalive?.timeMs ?? 60_000,
    "grpc.keepalive_timeout_ms": opts.keepalive?.timeoutMs ?? 20_000,
    ...(opts.maxConnectionAgeMs !== undefined
      ? { "grpc.max_connection_age_ms": opts.maxConnectionAgeMs, "grpc.max_connection_age_grace_ms": 30_000 }
      : {}),
  };
  const server = new Server(options);
  const env: HandlerEnv = {
    service: opts.service,
    log,
    debug: log.isEnabled("debug"),
    authenticate: opts.authenticate,
    validate: createRequestValidator(),
  };
  const readiness = createReadiness({
    checks: opts.readiness ?? [],
    intervalMs: opts.readinessIntervalMs ?? 5000,
    timeoutMs: Math.min(opts.readinessIntervalMs ?? 5000, 3000),
    log,
  });
  readiness.addToServer(server);
  const services: DescService[] = [];
  let started = false;

  return {
    add(service, impl) {
      if (started) throw new Error(`add ${service.typeName} before listen`);
      const handlers: UntypedServiceImplementation = {};
      const implByName = impl as unknown as Record<string, UnaryFn | ServerStreamingFn | undefined>;
      for (const method of service.methods) {
        const fn = implByName[method.localName];
        if (!fn) continue; // only for client/bidi streaming, which the type excludes
        handlers[method.localName] =
          method.methodKind === "server_streaming"
            ? serverStreamingHandler(method, fn as ServerStreamingFn, env)
            : unaryHandler(method, fn as UnaryFn, env);
      }
      server.addService(grpcServiceDefinition(service), handlers);
      services.push(service);
      readiness.addService(service.typeName);
    },

    async listen(address) {
      if (started) throw new Error("server already listening");
      started = true;
      if (opts.reflection ?? true) addReflection(server, services);
      const port = await new Promise<number>((resolve, reject) => {
        server.bindAsync(address, serverCredentials(opts.tls), (err, bound) => (err ? reject(err) : resolve(bound)));
      });
      readiness.start();
      log.info("grpc server listening", { address, port, services: services.map((s) => s.typeName) });
      return port;
    },

    checkReadiness: () => readiness.refresh(),

    async shutdown(graceMs = 10_000) {
      readiness.stop();
      if (!started) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          log.warn("grace period over, cancelling remaining calls", { graceMs });
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      log.info("grpc server stopped");
    },
  };
}
