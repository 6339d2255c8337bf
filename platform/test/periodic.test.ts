import assert from "node:assert/strict";
import { createLogger } from "../logger.js";
import { drainBatches, startPeriodic } from "../periodic.js";
import { waitFor } from "../testing/wait-for.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ service: "test", level: "info", write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { log, lines };
}

/** A promise and the function that settles it, to hold a round open for as long as a test needs. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe("periodic jobs", () => {
  it("never runs two rounds at once: a round asked for while one runs joins it", async () => {
    const { log } = capture();
    const g = gate();
    let started = 0;
    const job = startPeriodic({ name: "slow", intervalMs: 5, log, run: async () => (started++, await g.opened, started) });
    try {
      await waitFor("the first round", () => started === 1);
      const joined = job.runOnce();
      await new Promise((r) => setTimeout(r, 30)); // several ticks pass while the round is held
      assert.equal(started, 1);
      g.open();
      assert.equal(await joined, 1);
    } finally {
      await job.stop();
    }
  });

  it("logs a failed round with the job's name and tries again at the next tick", async () => {
    const { log, lines } = capture();
    let calls = 0;
    const job = startPeriodic({
      name: "flaky",
      intervalMs: 5,
      log,
      run: async () => {
        calls++;
        if (calls === 1) throw new Error("database went away");
        return calls;
      },
    });
    try {
      await waitFor("a second round", () => calls >= 2);
      const failure = lines.find((l) => l["level"] === "warn");
      assert.equal(failure?.["job"], "flaky");
      assert.match(JSON.stringify(failure?.["err"]), /database went away/);
    } finally {
      await job.stop();
    }
  });

  it("stop() waits for the round in progress and no round starts after it", async () => {
    const { log } = capture();
    const g = gate();
    let started = 0;
    let finished = 0;
    const job = startPeriodic({ name: "drain", intervalMs: 5, log, runAtStart: true, run: async () => (started++, await g.opened, finished++) });
    assert.equal(started, 1, "runAtStart starts a round at once");
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(stopped, false, "stop resolved while a round was still running");
    g.open();
    await stopping;
    assert.equal(finished, 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(started, 1);
  });

  it("drains a backlog in batches until a batch comes back short", async () => {
    let left = 23;
    const sizes: number[] = [];
    const total = await drainBatches(async () => {
      const n = Math.min(10, left);
      left -= n;
      sizes.push(n);
      return n;
    }, 10);
    assert.equal(total, 23);
    assert.deepEqual(sizes, [10, 10, 3]);
  });
});
