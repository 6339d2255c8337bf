// Starting a hop server of rpc-hop-server.ts in a child process, and the bare grpc-js call to
// it: the baseline every benchmark prints next to its own figures (rpc-hop.bench.ts against the
// platform's hop, the checkout bench against a whole PlaceOrder).
import { execFileSync, fork, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { ChannelCredentials, Client, Metadata } from "@grpc/grpc-js";
import { CatalogService, GetProductRequestSchema } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { grpcMethodDefinition } from "../grpc/service-definition.js";
import type { Call } from "./load.js";

export const hopRequest = create(GetProductRequestSchema, { lookup: { case: "id", value: "0b7f3c1e-5d2a-4e8b-9c4f-1a2b3c4d5e6f" } });

export interface HopServer {
  readonly child: ChildProcess;
  readonly port: number;
  /** Where callgrind writes this server's dumps, when it runs under callgrind. */
  readonly callgrindOut: string | undefined;
  /** Asks the child something over IPC (see rpc-hop-server.ts) and resolves its answer. */
  ask(msg: string): Promise<unknown>;
  stop(): Promise<void>;
}

export interface HopServerOptions {
  /** `--cpu-prof` into ./profiles. */
  readonly profile?: boolean;
  /** Pin every thread of the server to this CPU (Linux, taskset). */
  readonly cpu?: number;
  /** Where the platform variant exports its spans (OTLP/HTTP), as a service with Jaeger does. */
  readonly otlpEndpoint?: string;
  /** Run the server under valgrind's callgrind, writing its dumps to this file. */
  readonly callgrindOut?: string;
}

// A failed bench must not leave servers running (under valgrind they would burn a core for long).
const started: ChildProcess[] = [];
process.on("exit", () => {
  for (const c of started) if (c.exitCode === null) c.kill();
});

export async function startHopServer(variant: "bare" | "platform", opts: HopServerOptions = {}): Promise<HopServer> {
  const script = fileURLToPath(new URL("./rpc-hop-server.js", import.meta.url));
  const execArgv = opts.profile ? ["--cpu-prof", "--cpu-prof-dir=profiles", `--cpu-prof-name=${variant}.cpuprofile`] : [];
  const args = [variant, ...(opts.otlpEndpoint ? [opts.otlpEndpoint] : [])];
  // The servers' own log lines (listening, ready) are not part of any report.
  const stdio: ["ignore", "ignore", "inherit", "ipc"] = ["ignore", "ignore", "inherit", "ipc"];
  const child = opts.callgrindOut
    ? spawn("valgrind", ["--tool=callgrind", "--quiet", `--callgrind-out-file=${opts.callgrindOut}`, process.execPath, script, ...args], { stdio })
    : fork(script, args, { execArgv, stdio });
  started.push(child);
  const [msg] = (await once(child, "message")) as [{ port: number }];
  if (opts.cpu !== undefined) pin(child.pid!, opts.cpu);
  return {
    child,
    port: msg.port,
    callgrindOut: opts.callgrindOut,
    ask(m) {
      const answer = once(child, "message").then(([a]) => a as unknown);
      child.send(m);
      return answer;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send("exit");
      await once(child, "exit");
    },
  };
}

/** Moves every thread of `pid` to `cpu`, so client and server stop trading places on the cores. */
export function pin(pid: number, cpu: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
}

/** A bare grpc-js client calling the hop server's GetProduct; `close` when done. */
export function bareHopClient(port: number): { readonly call: Call; close(): void } {
  const def = grpcMethodDefinition(CatalogService.method.getProduct);
  const client = new Client(`127.0.0.1:${port}`, ChannelCredentials.createInsecure());
  const call: Call = () =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, hopRequest, new Metadata(), {}, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  return { call, close: () => client.close() };
}
