// Addresses for tests that need a peer which is down, or a port to start something on.
import { createServer } from "node:net";

/** A 127.0.0.1 port where nothing listens right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An address where nothing listens: a peer that is down. */
export async function deadAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}
