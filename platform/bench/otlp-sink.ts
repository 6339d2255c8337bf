// A stand-in OTLP/HTTP trace collector for benchmarks: accepts `POST /v1/traces` (protobuf, as
// the platform's exporter sends it), counts the spans and answers 200. It runs in the
// benchmark's parent process, so a server under test pays what it pays with Jaeger (building,
// batching, serializing and POSTing every span), and the collector's side is not on its bill.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { BinaryReader } from "@bufbuild/protobuf/wire";

export interface OtlpSink {
  /** The base URL to hand to initTelemetry's `otlpEndpoint`. */
  readonly endpoint: string;
  /** Spans received so far. */
  spans(): number;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let spans = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      spans += countSpans(Buffer.concat(chunks));
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => spans,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
// ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
// ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
function countSpans(body: Uint8Array): number {
  let n = 0;
  each(body, 1, (resourceSpans) => each(resourceSpans, 2, (scopeSpans) => each(scopeSpans, 2, () => n++)));
  return n;
}

function each(bytes: Uint8Array, field: number, fn: (value: Uint8Array) => void): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === field) fn(r.bytes());
    else r.skip(wt, no);
  }
}
