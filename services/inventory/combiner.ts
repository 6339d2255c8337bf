// Groups concurrent requests that share a key into one batch, one batch per key at a time.
//
// The first request of an idle key runs at once, alone. Requests for that key arriving while
// its batch runs wait, and all of them (up to `maxBatch`) form the next batch as soon as the
// running one settles. So under no load nothing waits, and under load a batch collects exactly
// the requests that queued behind the previous one: the classic group commit. The reservations
// use it to reserve many orders of one hot SKU in one transaction (reservations.ts).
//
// A batch runs in the async context of the request that started it (its trace, for instance).

/** One member's outcome in a batch. */
export type Settled<O> = { readonly ok: true; readonly value: O } | { readonly ok: false; readonly error: unknown };

export interface CombinerOptions<I, O> {
  /** Requests in one batch at most. */
  readonly maxBatch: number;
  /**
   * Runs one batch; answers one outcome per input, in input order. Throwing fails every
   * member of the batch with that error.
   */
  readonly run: (batch: readonly I[]) => Promise<readonly Settled<O>[]>;
}

export interface Combiner<I, O> {
  submit(key: string, input: I): Promise<O>;
  /** Keys with a batch running now (for tests and metrics). */
  busyKeys(): number;
}

interface Waiting<I, O> {
  readonly input: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export function createCombiner<I, O>(opts: CombinerOptions<I, O>): Combiner<I, O> {
  if (!(opts.maxBatch >= 1)) throw new Error("maxBatch must be at least 1");
  const lanes = new Map<string, Waiting<I, O>[]>();

  async function drain(key: string, queue: Waiting<I, O>[]): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, opts.maxBatch);
      try {
        const outcomes = await opts.run(batch.map((w) => w.input));
        if (outcomes.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${outcomes.length} outcomes`);
        batch.forEach((w, i) => {
          const o = outcomes[i]!;
          if (o.ok) w.resolve(o.value);
          else w.reject(o.error);
        });
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    lanes.delete(key);
  }

  return {
    submit(key, input) {
      return new Promise<O>((resolve, reject) => {
        const queue = lanes.get(key);
        if (queue) {
          queue.push({ input, resolve, reject });
          return;
        }
        const fresh: Waiting<I, O>[] = [{ input, resolve, reject }];
        lanes.set(key, fresh);
        void drain(key, fresh);
      });
    },
    busyKeys: () => lanes.size,
  };
}
