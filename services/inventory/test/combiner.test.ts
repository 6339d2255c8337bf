// The combiner in memory: who runs alone, who is batched with whom, and whose outcome each
// caller gets, including a batch that fails as a whole.
import assert from "node:assert/strict";
import { createCombiner, type Settled } from "../combiner.js";

/** A batch runner the test releases by hand, recording every batch it was given. */
function gatedRunner() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = async (batch: readonly number[]): Promise<Settled<string>[]> => {
    batches.push([...batch]);
    await new Promise<void>((resolve) => gates.push(resolve));
    if (batch.includes(-1)) throw new Error("the batch failed");
    return batch.map((n) => (n % 2 === 0 ? { ok: true, value: `even ${n}` } : { ok: false, error: new Error(`odd ${n}`) }));
  };
  /** Lets the oldest waiting batch finish, once it has started. */
  const release = async () => {
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { batches, run, release };
}

const outcome = (p: Promise<string>) => p.then((v) => v, (e: Error) => `error: ${e.message}`);

describe("request combiner", () => {
  it("runs the first request alone, then everything that queued behind it as one batch", async () => {
    const runner = gatedRunner();
    const combiner = createCombiner<number, string>({ maxBatch: 10, run: runner.run });
    const first = outcome(combiner.submit("hot", 2));
    const queued = [4, 5, 6].map((n) => outcome(combiner.submit("hot", n)));
    await runner.release();
    await runner.release();
    assert.deepEqual(await Promise.all([first, ...queued]), ["even 2", "even 4", "error: odd 5", "even 6"]);
    assert.deepEqual(runner.batches, [[2], [4, 5, 6]]);
    assert.equal(combiner.busyKeys(), 0, "an idle key leaves nothing behind");
  });

  it("keeps keys apart and caps a batch at maxBatch", async () => {
    const runner = gatedRunner();
    const combiner = createCombiner<number, string>({ maxBatch: 2, run: runner.run });
    const calls = [combiner.submit("a", 0), combiner.submit("b", 10), combiner.submit("a", 2), combiner.submit("a", 4), combiner.submit("a", 6)].map(outcome);
    for (let i = 0; i < 4; i++) await runner.release();
    assert.deepEqual(await Promise.all(calls), ["even 0", "even 10", "even 2", "even 4", "even 6"]);
    assert.deepEqual(runner.batches, [[0], [10], [2, 4], [6]]);
  });

  it("fails every member of a batch that throws, and goes on with the next batch", async () => {
    const runner = gatedRunner();
    const combiner = createCombiner<number, string>({ maxBatch: 10, run: runner.run });
    const first = outcome(combiner.submit("k", 0));
    const failing = [-1, 2].map((n) => outcome(combiner.submit("k", n)));
    await runner.release();
    await runner.release();
    assert.deepEqual(await Promise.all([first, ...failing]), ["even 0", "error: the batch failed", "error: the batch failed"]);
    const after = outcome(combiner.submit("k", 8));
    await runner.release();
    assert.equal(await after, "even 8");
    assert.deepEqual(runner.batches, [[0], [-1, 2], [8]]);
  });
});
