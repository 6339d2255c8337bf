// A supervised RabbitMQ connection: the only place that knows a connection can die.
//
// It connects with exponential backoff, and after every (re)connection re-runs the registered
// setups in order (exchanges, then queues and consumers), so topology deleted by an operator and
// consumers cancelled by a broker restart come back by themselves. Publishing goes through one
// ConfirmChannel: `publish` resolves on the broker's ack, rejects on a nack or when the
// connection is lost with the message unconfirmed. Heartbeats detect a silent peer.
//
// The rejection on loss is ours, not amqplib's: when its channel closes, amqplib fails the
// unconfirmed callbacks only up to the first slot the broker confirmed out of order (a message
// that routed nowhere is confirmed before one a quorum queue is still writing), and the ones after
// it never hear back. A relay waiting for them would hold its batch forever.
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type Options } from "amqplib";
import { unavailable } from "../errors.js";
import type { Logger } from "../logger.js";

export interface AmqpConnectionOptions {
  url: string;
  logger: Logger;
  /** Shown by `rabbitmqctl list_connections name client_properties`: the service's name. */
  name: string;
  /** Default 10; a dead peer is noticed after about two intervals. */
  heartbeatSeconds?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Declares topology or starts consumers on a fresh connection; a throw means "reconnect". */
export type ConnectionSetup = (model: ChannelModel) => Promise<void>;

export interface AmqpConnection {
  /** Connected and every setup has run: the readiness signal. */
  isConnected(): boolean;
  waitConnected(timeoutMs?: number): Promise<void>;
  /**
   * Runs `setup` now when connected (rejecting if it fails) and again after every reconnection.
   * Returns a function that unregisters it.
   */
  addSetup(setup: ConnectionSetup): Promise<() => void>;
  /**
   * For a setup whose own channel died while the connection lives on (a channel error, a consumer
   * cancelled by the broker): runs it again after a pause, until it succeeds or the connection is
   * replaced (a new connection runs every setup anyway).
   */
  retrySetup(setup: ConnectionSetup, model: ChannelModel): void;
  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void>;
  /** A short-lived confirm channel for administrative work; closed afterwards. */
  withChannel<T>(fn: (ch: ConfirmChannel) => Promise<T>): Promise<T>;
  /** How many times a connection was established: a reconnection counter for metrics and tests. */
  connectionCount(): number;
  close(): Promise<void>;
}

export function createAmqpConnection(opts: AmqpConnectionOptions): AmqpConnection {
  const { logger } = opts;
  const minBackoff = opts.minBackoffMs ?? 100;
  const maxBackoff = opts.maxBackoffMs ?? 10_000;
  const url = new URL(opts.url);
  if (!url.searchParams.has("heartbeat")) url.searchParams.set("heartbeat", String(opts.heartbeatSeconds ?? 10));
  const setups: ConnectionSetup[] = [];
  let model: ChannelModel | undefined;
  /** The confirm channel and the publishes still waiting for its confirms. */
  let publisher: { ch: ConfirmChannel; unconfirmed: Set<(err: Error) => void> } | undefined;
  let ready = false;
  let closing = false;
  let failures = 0;
  let connections = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let waiters: (() => void)[] = [];

  async function connectOnce(): Promise<void> {
    const m = await amqp.connect(url.toString(), { clientProperties: { connection_name: opts.name }, timeout: 5000 });
    if (closing) {
      await m.close().catch(() => undefined); // close() was called while we were connecting
      return;
    }
    m.on("error", (err: unknown) => logger.warn("amqp connection error", { err }));
    m.on("blocked", (reason: unknown) => logger.warn("amqp connection blocked by the broker", { reason }));
    m.on("close", () => lost(m));
    model = m;
    try {
      const ch = await m.createConfirmChannel();
      const unconfirmed = new Set<(err: Error) => void>();
      ch.on("error", (err: unknown) => logger.warn("amqp publish channel error", { err }));
      // A channel-level error (e.g. the exchange was deleted) kills only the channel; reconnecting
      // re-declares the topology, which is exactly the repair needed.
      ch.on("close", () => {
        for (const fail of [...unconfirmed]) fail(unavailable("RabbitMQ channel closed before the broker confirmed the publish"));
        if (model === m && !closing) void m.close().catch(() => undefined);
      });
      for (const setup of [...setups]) await setup(m);
      if (model !== m) throw new Error(closing ? "connection closed during setup" : "connection lost during setup");
      publisher = { ch, unconfirmed };
      ready = true;
      connections++;
      failures = 0;
      logger.info("amqp connected", { connection: opts.name, connections });
      for (const w of waiters) w();
      waiters = [];
    } catch (err) {
      await m.close().catch(() => undefined);
      throw err;
    }
  }

  function lost(m: ChannelModel): void {
    if (model !== m) return;
    model = undefined;
    publisher = undefined;
    const wasReady = ready;
    ready = false;
    // Before it was ready, connectOnce is still running and its failure schedules the retry
    // (with backoff); scheduling here too would retry a permanently failing setup in a hot loop.
    if (closing || !wasReady) return;
    logger.warn("amqp connection lost; reconnecting", { connection: opts.name });
    schedule();
  }

  function schedule(): void {
    if (closing || retryTimer) return;
    // Never immediately, even the first time: when a broker restarts, every client of it retries
    // at once; the jitter spreads them out. The very first connect does not wait.
    const base = Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures, 16));
    const delay = connections === 0 && failures === 0 ? 0 : base / 2 + Math.random() * (base / 2);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connectOnce().catch((err: unknown) => {
        failures++;
        logger.warn("amqp connect failed", { err, attempt: failures });
        schedule();
      });
    }, delay);
  }

  schedule();

  return {
    isConnected: () => ready,
    waitConnected(timeoutMs = 10_000) {
      if (ready) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters = waiters.filter((w) => w !== done);
          reject(unavailable(`RabbitMQ not connected after ${timeoutMs}ms`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(t);
          resolve();
        };
        waiters.push(done);
      });
    },
    async addSetup(setup) {
      const m = model;
      if (ready && m) await setup(m);
      setups.push(setup);
      return () => {
        const i = setups.indexOf(setup);
        if (i >= 0) setups.splice(i, 1);
      };
    },
    retrySetup(setup, m) {
      let attempt = 0;
      const again = (): void => {
        const t = setTimeout(() => {
          if (closing || model !== m || !ready || !setups.includes(setup)) return;
          setup(m).catch((err: unknown) => {
            logger.warn("amqp setup failed; retrying", { err, attempt });
            again();
          });
        }, Math.min(maxBackoff, minBackoff * 2 ** Math.min(attempt++, 16)));
        t.unref();
      };
      again();
    },
    publish(exchange, routingKey, content, options) {
      // No await before channel.publish: callers rely on publishes reaching the channel in call order.
      const p = publisher;
      if (!ready || !p) return Promise.reject(unavailable("RabbitMQ is not connected"));
      return new Promise<void>((resolve, reject) => {
        const fail = (err: Error): void => {
          p.unconfirmed.delete(fail);
          reject(err);
        };
        p.unconfirmed.add(fail);
        try {
          p.ch.publish(exchange, routingKey, content, options, (err: unknown) => {
            p.unconfirmed.delete(fail);
            if (err) reject(asError(err));
            else resolve();
          });
        } catch (err) {
          fail(asError(err)); // the channel closed under us
        }
      });
    },
    async withChannel(fn) {
      const m = model;
      if (!ready || !m) throw unavailable("RabbitMQ is not connected");
      const ch = await m.createConfirmChannel();
      ch.on("error", () => undefined); // surfaced through the failed operation instead
      try {
        return await fn(ch);
      } finally {
        await closeQuietly(ch);
      }
    },
    connectionCount: () => connections,
    async close() {
      closing = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      const m = model;
      model = undefined;
      publisher = undefined;
      ready = false;
      if (m) await m.close().catch(() => undefined);
    },
  };
}

export async function closeQuietly(ch: Channel): Promise<void> {
  try {
    await ch.close();
  } catch {
    // already closed, with the connection or by a channel error
  }
}

/** amqplib reports confirms' failures as Errors, but the callback type does not promise it. */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error("AMQP operation failed", { cause: err });
}
