// The in-process fan-out behind WatchOrderUpdates: each open stream is a watcher of one user
// (optionally one order); every update that reaches this replica is handed to that user's
// watchers. Updates arrive from PostgreSQL's NOTIFY (see module.ts), which the event handler
// sends inside its transaction: PostgreSQL delivers it only at commit, and to every replica,
// so a stream sees an update whichever replica consumed the event, and never one that rolled back.
import { resourceExhausted } from "../../platform/errors.js";

export interface OrderUpdate {
  readonly userId: string;
  readonly orderId: string;
  /** shop.order.v1.OrderStatus values. */
  readonly oldStatus: number;
  readonly newStatus: number;
  readonly reason: string;
  readonly changeTime: Date;
}

/** A stream item: an update, or a heartbeat (idle proxies keep the stream open). */
export type LiveItem = OrderUpdate | "heartbeat";

export interface LiveUpdatesOptions {
  readonly heartbeatMs: number;
  readonly maxStreamsPerUser: number;
  /** Updates a stream may have waiting for a slow client before it is ended. */
  readonly maxBuffered?: number;
}

interface Watcher {
  readonly orderId: string | undefined;
  readonly queue: LiveItem[];
  wake: (() => void) | undefined;
  ended: boolean;
  overflowed: boolean;
}

export type LiveUpdates = ReturnType<typeof createLiveUpdates>;

export function createLiveUpdates(opts: LiveUpdatesOptions) {
  const maxBuffered = opts.maxBuffered ?? 256;
  const byUser = new Map<string, Set<Watcher>>();
  /** Set by close(): a stream that registers while the service stops ends at once. */
  let closed = false;

  const poke = (w: Watcher) => {
    const wake = w.wake;
    w.wake = undefined;
    wake?.();
  };

  return {
    /** Hands `u` to the streams of its user (and its order) open on this replica. */
    publish(u: OrderUpdate): void {
      for (const w of byUser.get(u.userId) ?? []) {
        if (w.orderId !== undefined && w.orderId !== u.orderId) continue;
        if (w.queue.length >= maxBuffered) w.overflowed = true;
        else w.queue.push(u);
        poke(w);
      }
    },

    /** Streams open on this replica, for one user or for all. */
    streams(userId?: string): number {
      if (userId !== undefined) return byUser.get(userId)?.size ?? 0;
      let n = 0;
      for (const set of byUser.values()) n += set.size;
      return n;
    },

    /**
     * The user's updates from now on. The first item is a heartbeat, sent as soon as the stream
     * is registered: the client then knows that every later change reaches it. Ends when
     * `signal` aborts (the client left) or `close()` is called.
     */
    async *watch(userId: string, orderId: string | undefined, signal: AbortSignal): AsyncGenerator<LiveItem, void, undefined> {
      let set = byUser.get(userId);
      if ((set?.size ?? 0) >= opts.maxStreamsPerUser) throw resourceExhausted(`at most ${opts.maxStreamsPerUser} open order update streams per user`);
      if (!set) byUser.set(userId, (set = new Set()));
      const w: Watcher = { orderId, queue: [], wake: undefined, ended: closed || signal.aborted, overflowed: false };
      set.add(w);
      const onAbort = () => {
        w.ended = true;
        poke(w);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const heartbeat = setInterval(() => {
        if (w.queue.length === 0) w.queue.push("heartbeat");
        poke(w);
      }, opts.heartbeatMs);
      heartbeat.unref();
      try {
        yield "heartbeat";
        for (;;) {
          while (w.queue.length > 0 && !w.ended) yield w.queue.shift()!;
          if (w.ended) return;
          if (w.overflowed) throw resourceExhausted("the stream fell too far behind; reconnect and catch up with OrderService.GetOrder");
          await new Promise<void>((resolve) => (w.wake = resolve));
        }
      } finally {
        clearInterval(heartbeat);
        signal.removeEventListener("abort", onAbort);
        set.delete(w);
        if (set.size === 0 && byUser.get(userId) === set) byUser.delete(userId);
      }
    },

    /** Ends every open stream (cleanly, with OK): the service is stopping. */
    close(): void {
      closed = true;
      for (const set of byUser.values()) {
        for (const w of set) {
          w.ended = true;
          poke(w);
        }
      }
    },
  };
}
