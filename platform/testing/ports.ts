// Addresses for tests that need a peer which is down, or a port to start something on.
import { once } from "node:events";
import { createServer } from "node:net";

/** A 127.0.0.1 port where nothing listens right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * `n` distinct free ports: all are held until every one is chosen, so a port released by one
 * probe is never handed to the next (two processes of one shop would then race for it).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer().listen(0, "127.0.0.1"));
  try {
    await Promise.all(servers.map((server) => once(server, "listening")));
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** Whether nothing listens on 127.0.0.1:`port` right now. */
export async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (free) await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
}

/**
 * The first of `count` consecutive free ports, for a process that numbers its listeners from a
 * base (`SHOP_GRPC_BASE_PORT`). Drawn below Linux's ephemeral range (32768+), where outgoing
 * connections of other tests take their local ports.
 */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * (32_000 - 10_000 - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portIsFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found below 32000`);
}

/** An address where nothing listens: a peer that is down. */
export async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}
