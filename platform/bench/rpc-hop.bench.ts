// What the platform's gRPC layer costs per call, against bare grpc-js.
//
// A unary hop with 64 calls in flight and a ~200-byte reply, for
//   (a) bare:     grpc-js server and client, same protobuf-es serialization, nothing else;
//   (b) platform: createGrpcServer + createClient with everything on.
// Each server runs in its own child process, so its CPU time over the measured window is its
// own. After a warm-up, rounds alternate between variants (so drift on the machine hits all
// alike) and we print per variant: calls/s, p50 and p99 latency, and server CPU µs per call
// (medians of the rounds), then the platform/bare ratio of server CPU. Target: ratio <= 1.25.
//
// A control row drives the bare server with the platform client: a server's CPU per call
// depends on how its requests arrive (a slower client batches fewer per event-loop turn, and
// the platform client adds a traceparent header), so platform/control isolates what the
// server-side pipeline itself costs.
//
//   npm run bench:rpc                      (BENCH_CALLS, BENCH_ROUNDS to change the size)
//   BENCH_PROFILE=1 npm run bench:rpc      (writes .cpuprofile files of the servers to ./profiles)
//   BENCH_PIN=1 npm run bench:rpc          (Linux: clients on CPU 0, servers on CPU 1, via taskset;
//                                           steadier figures on a 2-core machine)
import { toBinary } from "@bufbuild/protobuf";
import { CatalogService, GetProductResponseSchema } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { initTelemetry } from "../telemetry.js";
import { createClient } from "../grpc/index.js";
import { drive as driveLoad, median, percentile, type Call } from "./load.js";
import { bareHopClient, hopRequest as request, pin, startHopServer, type HopServer } from "./rpc-hop-baseline.js";
import { benchReply, discardProcessor } from "./rpc-hop-server.js";

const drive = (call: Call, count: number) => driveLoad(call, count, { inFlight: IN_FLIGHT, limitMs: ROUND_LIMIT_MS });

const CALLS = Number(process.env["BENCH_CALLS"] ?? 20_000);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const PIN = process.env["BENCH_PIN"] === "1";
const IN_FLIGHT = 64;
const ROUND_LIMIT_MS = 15_000;

interface Round {
  calls: number;
  seconds: number;
  p50: number;
  p99: number;
  cpuUsPerCall: number;
}

const startServer = (variant: "bare" | "platform") =>
  startHopServer(variant, { profile: Boolean(process.env["BENCH_PROFILE"]), ...(PIN ? { cpu: 1 } : {}) });

async function round(server: HopServer, call: Call): Promise<Round> {
  await server.ask("cpu-start");
  const { latencies, seconds } = await drive(call, CALLS);
  const { cpuUs } = (await server.ask("cpu-stop")) as { cpuUs: number };
  const sorted = Float64Array.from(latencies).sort();
  return {
    calls: sorted.length,
    seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    cpuUsPerCall: cpuUs / sorted.length,
  };
}


function report(name: string, rounds: Round[]) {
  const rate = median(rounds.map((r) => r.calls / r.seconds));
  const p50 = median(rounds.map((r) => r.p50));
  const p99 = median(rounds.map((r) => r.p99));
  const cpu = median(rounds.map((r) => r.cpuUsPerCall));
  const each = rounds.map((r) => r.cpuUsPerCall.toFixed(1)).join(" ");
  console.log(
    `${name.padEnd(9)} ${rate.toFixed(0).padStart(7)} calls/s  p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  server CPU ${cpu.toFixed(1)} µs/call  (rounds: ${each})`,
  );
  return cpu;
}

async function main() {
  // The client side records spans too, so the platform server continues a sampled trace
  // (parsing traceparent, recording a child span) as it would in production with Jaeger on.
  initTelemetry({ serviceName: "bench-client", spanProcessors: [discardProcessor] });
  if (PIN) pin(process.pid, 0);
  const bare = await startServer("bare");
  const platform = await startServer("platform");

  const bareClient = bareHopClient(bare.port);
  const bareCall = bareClient.call;
  const platformClient = createClient(CatalogService, { name: "catalog", address: `127.0.0.1:${platform.port}` });
  const platformCall: Call = () => platformClient.getProduct(request);
  const controlClient = createClient(CatalogService, { name: "catalog-bare", address: `127.0.0.1:${bare.port}` });
  const controlCall: Call = () => controlClient.getProduct(request);

  console.log(
    `rpc hop: ${IN_FLIGHT} in flight, reply ${toBinary(GetProductResponseSchema, benchReply()).byteLength} bytes, ${CALLS} calls x ${ROUNDS} rounds per variant`,
  );
  await drive(bareCall, 5000); // warm-up: JIT, connections, validator plans
  await drive(platformCall, 5000);
  await drive(controlCall, 5000);

  const results = { bare: [] as Round[], platform: [] as Round[], control: [] as Round[] };
  for (let i = 0; i < ROUNDS; i++) {
    results.bare.push(await round(bare, bareCall));
    results.platform.push(await round(platform, platformCall));
    results.control.push(await round(bare, controlCall));
  }
  const a = report("bare", results.bare);
  const b = report("platform", results.platform);
  const c = report("control", results.control);
  console.log(`platform/bare server CPU per call: ${(b / a).toFixed(2)}x (target <= 1.25x)`);
  console.log(`platform/control (same client on both servers): ${(b / c).toFixed(2)}x`);

  bareClient.close();
  platformClient.close();
  controlClient.close();
  await Promise.all([bare.stop(), platform.stop()]);
}

await main();
