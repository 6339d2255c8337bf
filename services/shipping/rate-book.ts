// The rate table as the service uses it: loaded from the database and kept for a while, so a
// quote costs no query. Every replica reloads on its own after `ttlMs`, which bounds how long an
// edited table takes to show. Concurrent callers share one load; a failed load is not cached.
import { quote, serviceFor, type Destination, type QuoteRequest, type RateTable, type ShippingOption, type Speed, type ZoneService } from "./rates.js";

export type RateLoader = () => Promise<RateTable>;

export interface RateBook {
  quote(req: QuoteRequest): Promise<ShippingOption[]>;
  /**
   * Carrier and transit days for a shipment; undefined when the destination or speed is not
   * served. Called inside a transaction, pass `load` reading through that transaction: in the
   * single-process mode there is one PostgreSQL connection, and a read on the pool would wait
   * for the transaction that waits for it.
   */
  service(dest: Destination, speed: Speed, load?: RateLoader): Promise<ZoneService | undefined>;
}

export interface RateBookOptions {
  readonly load: RateLoader;
  readonly ttlMs: number;
  /** The service's clock: quote times. The cache's age is measured in real time. */
  readonly clock: () => Date;
}

export function createRateBook(opts: RateBookOptions): RateBook {
  let cached: { table: RateTable; loadedAt: number } | undefined;
  let loading: Promise<RateTable> | undefined;
  const table = (load: RateLoader = opts.load): Promise<RateTable> => {
    if (cached && Date.now() - cached.loadedAt < opts.ttlMs) return Promise.resolve(cached.table);
    return (loading ??= load()
      .then((t) => {
        cached = { table: t, loadedAt: Date.now() };
        return t;
      })
      .finally(() => (loading = undefined)));
  };
  return {
    quote: async (req) => quote(await table(), req, opts.clock()),
    service: async (dest, speed, load) => serviceFor(await table(load), dest, speed),
  };
}
