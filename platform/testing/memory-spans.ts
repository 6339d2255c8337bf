// One in-memory span exporter for the whole test process.
//
// OpenTelemetry installs once per process (see telemetry.ts), so every test file that looks at
// spans (gRPC, events, SQL) must share the same exporter: call memorySpans() before anything
// else initializes telemetry, and reset() the exporter in a beforeEach.
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { initTelemetry } from "../telemetry.js";

let exporter: InMemorySpanExporter | undefined;

export function memorySpans(): InMemorySpanExporter {
  if (exporter) return exporter;
  const created = new InMemorySpanExporter();
  const telemetry = initTelemetry({ serviceName: "test", spanProcessors: [new SimpleSpanProcessor(created)] });
  if (!telemetry.recording) {
    throw new Error("telemetry was initialized without recording before memorySpans(); call memorySpans() first");
  }
  exporter = created;
  return created;
}
