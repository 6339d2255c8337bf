// Preloaded into a process that cannot be started with --cpu-prof (Node refuses it in
// NODE_OPTIONS): `NODE_OPTIONS=--import=<this file>` profiles the whole process and writes
// ./profiles/<pid>.cpuprofile when it exits. The checkout bench uses it (BENCH_PROFILE).
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const session = new Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.start");
process.on("exit", () => {
  // The in-process session answers synchronously, so this completes inside the exit handler.
  session.post("Profiler.stop", (err, result) => {
    if (err) return;
    mkdirSync("profiles", { recursive: true });
    writeFileSync(`profiles/${process.pid}.cpuprofile`, JSON.stringify(result.profile));
  });
});
