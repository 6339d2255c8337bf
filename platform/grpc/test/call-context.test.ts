import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

// The main test process has OpenTelemetry installed (helpers.ts), where the call context rides
// in OpenTelemetry's context. A service could also run without it; this checks the fallback in
// a fresh process that never initializes telemetry.
describe("grpc call context without telemetry", () => {
  it("still propagates the deadline and the caller's authorization to the next hop", async () => {
    const script = fileURLToPath(new URL("./fixtures/two-hop-without-telemetry.js", import.meta.url));
    const child = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const [report] = (await once(child, "message")) as [{ deadlineOfA: number; seenByB?: { deadline: number; authorization: unknown } }];
    await once(child, "exit");
    assert.ok(report.seenByB, "B was called");
    assert.ok(Math.abs(report.seenByB.deadline - report.deadlineOfA) <= 20, `B's deadline differs from A's by ${report.seenByB.deadline - report.deadlineOfA} ms`);
    assert.equal(report.seenByB.authorization, "Bearer t");
  });
});
