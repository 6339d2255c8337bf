// Small named fixtures for the platform/grpc tests: a catalog server on a real port with
// handlers the test controls, a logger that keeps its lines, and a sample product.
import { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { createLogger, type LogLevel, type Logger } from "../../logger.js";
import { memorySpans } from "../../testing/memory-spans.js";
import { ADMIN_ROLE, createClient, createGrpcServer, type Caller, type ClientOptions, type GrpcServer, type GrpcServerOptions } from "../index.js";
import { catalogImpl, type CatalogClient, type CatalogImpl } from "./fixtures/catalog.js";

export { rejectionOf } from "../../testing/calls.js";
export { PRODUCT_ID, catalogImpl, sampleProduct, type CatalogClient, type CatalogImpl, type ProductInit } from "./fixtures/catalog.js";

// Install the SDK before any test runs, whatever the file order: trace ids in logs and the
// tracing test's spans need it, and it can only be installed once per process.
memorySpans();

export interface CapturedLogger {
  readonly log: Logger;
  readonly lines: Record<string, unknown>[];
}

export function captureLogger(level: LogLevel = "info"): CapturedLogger {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger({ service: "test", level, write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

export interface RunningCatalog {
  readonly server: GrpcServer;
  readonly address: string;
  readonly lines: Record<string, unknown>[];
  client(opts?: Partial<ClientOptions>): CatalogClient;
  stop(): Promise<void>;
}

/**
 * The default caller of these tests: an admin, so admin-level fixture methods (CreateProduct)
 * can exercise retries, errors and validation. Tests of access itself pass their own hook.
 */
const TEST_ADMIN: Caller = { subject: "platform-test", roles: [ADMIN_ROLE] };
const asTestAdmin = async (): Promise<Caller> => TEST_ADMIN;

/** A catalog server on 127.0.0.1 with the given handlers, and a way to make clients for it. */
export async function startCatalog(overrides: Partial<CatalogImpl>, opts: Partial<GrpcServerOptions> = {}): Promise<RunningCatalog> {
  const { log, lines } = captureLogger();
  const server = createGrpcServer({ service: "catalog", log, authenticate: asTestAdmin, ...opts });
  server.add(CatalogService, catalogImpl(overrides));
  const port = await server.listen("127.0.0.1:0");
  const address = `127.0.0.1:${port}`;
  const clients: CatalogClient[] = [];
  return {
    server,
    address,
    lines,
    client(clientOpts = {}) {
      const c = createClient(CatalogService, { service: "test", name: "catalog", address, ...clientOpts });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await server.shutdown(100);
    },
  };
}
