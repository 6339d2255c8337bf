// What the platform's gRPC layer costs per call, against bare grpc-js.
//
// A unary hop with 64 calls in flight and a ~200-byte reply, for
//   (a) bare:     grpc-js server and client, same protobuf-es serialization, nothing else;
//   (b) platform: createGrpcServer + createClient with everything on, configured as a service
//                 with Jaeger (OTLP export to a sink in this process; see rpc-hop-server.ts).
// Each server runs in its own child process, so its CPU time over the measured window is its
// own. After a warm-up, rounds alternate between variants (so drift on the machine hits all
// alike) and we print per variant: calls/s, p50 and p99 latency, and server CPU µs per call
// (medians of the rounds), then the platform/bare ratio of server CPU. Target: ratio <= 1.25.
//
// A control row drives the bare server with the platform client: a server's CPU per call
// depends on how its requests arrive (a slower client batches fewer per event-loop turn, and
// the platform client adds a traceparent header), so platform/control isolates what the
// server-side pipeline itself costs. The spans the sink received per platform call are printed
// too: 1.00 means every call's span was exported, none dropped by a full queue.
//
//   npm run bench:rpc                      (BENCH_CALLS, BENCH_ROUNDS to change the size)
//   BENCH_PROFILE=1 npm run bench:rpc      (writes .cpuprofile files of the servers to ./profiles)
//   BENCH_PIN=1 npm run bench:rpc          (Linux: clients on CPU 0, servers on CPU 1, via taskset;
//                                           steadier figures on a 2-core machine)
//   BENCH_CALLGRIND=1 npm run bench:rpc    (servers under valgrind's callgrind: also prints the
//                                           instructions each server executed per call, all its
//                                           threads included, which does not move with the load
//                                           other processes put on the machine; slow, so fewer calls)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { CatalogService, GetProductResponseSchema } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { initTelemetry } from "../telemetry.js";
import { createClient } from "../grpc/index.js";
import { drive as driveLoad, median, percentile, type Call } from "./load.js";
import { startOtlpSink } from "./otlp-sink.js";
import { bareHopClient, hopRequest as request, pin, startHopServer, type HopServer } from "./rpc-hop-baseline.js";
import { benchReply, discardProcessor } from "./rpc-hop-server.js";

const drive = (call: Call, count: number) => driveLoad(call, count, { inFlight: IN_FLIGHT, limitMs: ROUND_LIMIT_MS });

const CALLGRIND = process.env["BENCH_CALLGRIND"] === "1";
const CALLS = Number(process.env["BENCH_CALLS"] ?? (CALLGRIND ? 1000 : 8000));
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? (CALLGRIND ? 3 : 5));
const WARM_UP = CALLGRIND ? 1000 : 3000;
const PIN = process.env["BENCH_PIN"] === "1";
const IN_FLIGHT = 64;
const ROUND_LIMIT_MS = CALLGRIND ? 600_000 : 15_000;
/** The platform client's deadline; a server under valgrind runs some 50 times slower. */
const CLIENT_TIMEOUT_MS = CALLGRIND ? 600_000 : 5000;

interface Round {
  calls: number;
  seconds: number;
  p50: number;
  p99: number;
  cpuUsPerCall: number;
  /** Under BENCH_CALLGRIND only. */
  instructionsPerCall: number | undefined;
}

const callgrindDir = CALLGRIND ? mkdtempSync(join(tmpdir(), "rpc-hop-callgrind-")) : "";
const startServer = (variant: "bare" | "platform", otlpEndpoint: string): Promise<HopServer> =>
  startHopServer(variant, {
    otlpEndpoint,
    profile: Boolean(process.env["BENCH_PROFILE"]),
    ...(PIN ? { cpu: 1 } : {}),
    ...(CALLGRIND ? { callgrindOut: join(callgrindDir, variant) } : {}),
  });

/**
 * Asks callgrind in `server` to write out (and zero) its counters; returns the instructions
 * counted since the previous dump.
 */
function callgrindDump(server: HopServer): number {
  const before = new Set(readdirSync(callgrindDir));
  execFileSync("callgrind_control", ["--dump", String(server.child.pid)], { stdio: "ignore" });
  const prefix = `${server.callgrindOut!.slice(callgrindDir.length + 1)}.`;
  const dump = readdirSync(callgrindDir).find((f) => f.startsWith(prefix) && !before.has(f));
  if (!dump) throw new Error("callgrind wrote no dump");
  const totals = /^totals: (\d+)/m.exec(readFileSync(join(callgrindDir, dump), "utf8"));
  return Number(totals?.[1] ?? NaN);
}

async function round(server: HopServer, call: Call): Promise<Round> {
  if (CALLGRIND) callgrindDump(server);
  await server.ask("cpu-start");
  const { latencies, seconds, errors } = await drive(call, CALLS);
  const { cpuUs } = (await server.ask("cpu-stop")) as { cpuUs: number };
  const instructions = CALLGRIND ? callgrindDump(server) : undefined;
  if (errors > 0) throw new Error(`${errors} calls failed`);
  const sorted = Float64Array.from(latencies).sort();
  return {
    calls: sorted.length,
    seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    cpuUsPerCall: cpuUs / sorted.length,
    instructionsPerCall: instructions === undefined ? undefined : instructions / sorted.length,
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
  if (CALLGRIND) {
    const ir = rounds.map((r) => r.instructionsPerCall ?? NaN);
    console.log(`${"".padEnd(9)} server instructions ${(median(ir) / 1000).toFixed(1)}k/call  (rounds: ${ir.map((x) => (x / 1000).toFixed(1)).join(" ")})`);
  }
  return cpu;
}

/** The median over rounds of a/b, each round of `a` against the `b` round run next to it. */
function pairedRatio(a: Round[], b: Round[], of: (r: Round) => number): number {
  return median(a.map((r, i) => of(r) / of(b[i]!)));
}

async function main() {
  // The client side records spans too, so the platform server continues a sampled trace
  // (parsing traceparent, recording a child span) as it would in production with Jaeger on.
  initTelemetry({ serviceName: "bench-client", spanProcessors: [discardProcessor] });
  if (PIN) pin(process.pid, 0);
  const sink = await startOtlpSink();
  const bare = await startServer("bare", sink.endpoint);
  const platform = await startServer("platform", sink.endpoint);

  const bareClient = bareHopClient(bare.port);
  const bareCall = bareClient.call;
  const platformClient = createClient(CatalogService, { service: "bench", name: "catalog", address: `127.0.0.1:${platform.port}`, timeoutMs: CLIENT_TIMEOUT_MS });
  const platformCall: Call = () => platformClient.getProduct(request);
  const controlClient = createClient(CatalogService, { service: "bench", name: "catalog-bare", address: `127.0.0.1:${bare.port}`, timeoutMs: CLIENT_TIMEOUT_MS });
  const controlCall: Call = () => controlClient.getProduct(request);

  console.log(
    `rpc hop: ${IN_FLIGHT} in flight, reply ${toBinary(GetProductResponseSchema, benchReply()).byteLength} bytes, ${CALLS} calls x ${ROUNDS} rounds per variant`,
  );
  const started = performance.now();
  await drive(bareCall, WARM_UP); // warm-up: JIT, connections, validator plans
  await drive(platformCall, WARM_UP);
  await drive(controlCall, WARM_UP);

  const results = { bare: [] as Round[], platform: [] as Round[], control: [] as Round[] };
  let spans = 0;
  for (let i = 0; i < ROUNDS; i++) {
    results.bare.push(await round(bare, bareCall));
    const before = sink.spans();
    results.platform.push(await round(platform, platformCall));
    spans += sink.spans() - before;
    results.control.push(await round(bare, controlCall));
  }
  const a = report("bare", results.bare);
  const b = report("platform", results.platform);
  const c = report("control", results.control);
  const cpuOf = (r: Round) => r.cpuUsPerCall;
  console.log(
    `platform/bare server CPU per call: ${(b / a).toFixed(2)}x of the medians, ${pairedRatio(results.platform, results.bare, cpuOf).toFixed(2)}x median of paired rounds (target <= 1.25x)`,
  );
  console.log(`platform/control (same client on both servers): ${(b / c).toFixed(2)}x`);
  if (CALLGRIND) {
    const irOf = (r: Round) => r.instructionsPerCall ?? NaN;
    const ir = (rs: Round[]) => median(rs.map(irOf));
    console.log(`platform/bare server instructions per call: ${(ir(results.platform) / ir(results.bare)).toFixed(2)}x; platform/control ${(ir(results.platform) / ir(results.control)).toFixed(2)}x`);
  }
  const platformCalls = results.platform.reduce((n, r) => n + r.calls, 0);
  // Exports are batched, so a round's spans can arrive in the next one: the ratio is over all rounds.
  console.log(`spans exported per platform call: ${(spans / platformCalls).toFixed(2)}; ${((performance.now() - started) / 1000).toFixed(0)} s`);

  bareClient.close();
  platformClient.close();
  controlClient.close();
  await Promise.all([bare.stop(), platform.stop()]);
  await sink.close();
  if (CALLGRIND) rmSync(callgrindDir, { recursive: true, force: true });
}

await main();
