// The server side of the rpc-hop benchmark, run in a child process of rpc-hop.bench.ts so its
// CPU time can be measured alone. `node rpc-hop-server.js bare` or
// `node rpc-hop-server.js platform <otlp endpoint>`.
//
//   bare:     grpc-js Server with the same protobuf-es (de)serialization, nothing else.
//   platform: the server a service runs in production with Jaeger on: initTelemetry with an
//             OTLP endpoint (the SDK's ParentBased sampler and BatchSpanProcessor with the OTLP
//             exporter, which really serializes and POSTs every span, to a sink in the parent),
//             createGrpcServer with the real bearer-token hook (calls carry no token, like a
//             shopper browsing), the contract's access level, protovalidate, error mapping, RPC
//             metrics, and logging at info.
//
// Protocol with the parent (IPC): we send { port } once listening; "cpu-start" resets the CPU
// baseline and "cpu-stop" answers { cpuUs } (user + system since the baseline).
import { pathToFileURL } from "node:url";
import { create } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { bearerAuthenticate } from "../auth/bearer-authenticate.js";
import { createJwtVerifier } from "../auth/jwt-verifier.js";
import { CatalogService, GetProductResponseSchema } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { createLogger } from "../logger.js";
import { initTelemetry } from "../telemetry.js";
import { createGrpcServer, type ServiceImpl } from "../grpc/index.js";
import { grpcServiceDefinition } from "../grpc/service-definition.js";

/** The ~200-byte reply every variant sends, built once so both pay the same serialization. */
export function benchReply() {
  return create(GetProductResponseSchema, {
    product: {
      id: "0b7f3c1e-5d2a-4e8b-9c4f-1a2b3c4d5e6f",
      slug: "blue-linen-shirt",
      name: "Blue linen shirt",
      description: "Light, breathable linen; relaxed fit.",
      categoryIds: ["6a1e2f3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"],
      skus: [{ code: "SHIRT-BLUE-M", name: "Blue / M", price: { amountMinor: 4990n, currencyCode: "EUR" }, weightGrams: 250, active: true, inStock: true }],
    },
  });
}

/** A span processor that drops everything: spans are recorded, then thrown away. */
export const discardProcessor: SpanProcessor = {
  onStart: () => undefined,
  onEnd: (_span: ReadableSpan) => undefined,
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};

async function startBare(): Promise<number> {
  const reply = benchReply();
  const server = new Server();
  const impl: UntypedServiceImplementation = {
    getProduct: (_call: unknown, callback: (err: null, res: unknown) => void) => callback(null, reply),
  };
  server.addService(grpcServiceDefinition(CatalogService), impl);
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

async function startPlatform(otlpEndpoint: string): Promise<number> {
  initTelemetry({ serviceName: "bench-server", otlpEndpoint });
  const reply = benchReply();
  const unimplemented = async (): Promise<never> => {
    throw new Error("not benchmarked");
  };
  const verifier = createJwtVerifier({ issuer: "bench", audience: "bench", fetchJwks: async () => [] });
  const server = createGrpcServer({
    service: "catalog",
    log: createLogger({ service: "bench-server", level: "info" }),
    authenticate: bearerAuthenticate(verifier),
  });
  const impl = Object.fromEntries(CatalogService.methods.map((m) => [m.localName, unimplemented])) as unknown as ServiceImpl<typeof CatalogService>;
  server.add(CatalogService, { ...impl, getProduct: async () => reply });
  return server.listen("127.0.0.1:0");
}

if (process.send && import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const send = process.send.bind(process);
  const variant = process.argv[2];
  const port = await (variant === "bare" ? startBare() : startPlatform(process.argv[3] ?? "http://127.0.0.1:4318"));
  let baseline = process.cpuUsage();
  process.on("message", (msg: unknown) => {
    if (msg === "cpu-start") {
      baseline = process.cpuUsage();
      send("cpu-started");
    } else if (msg === "cpu-stop") {
      const used = process.cpuUsage(baseline);
      send({ cpuUs: used.user + used.system });
    } else if (msg === "exit") {
      process.exit(0);
    }
  });
  send({ port });
}
