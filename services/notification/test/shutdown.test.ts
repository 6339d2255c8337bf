// Stopping the service while shoppers watch their orders: the open WatchOrderUpdates streams end
// cleanly (OK, so clients reconnect to another replica) as soon as shutdown starts, instead of
// holding the drain until SHUTDOWN_GRACE runs out. The grace here is an hour: a stop that waited
// for it would fail this test by its timeout.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createMemoryEventBus } from "../../../platform/events/index.js";
import { createLogger } from "../../../platform/logger.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { as, startNotification, startUsersDouble, type UsersDouble } from "./helpers.js";

describe("notification service stopping with order update streams open (real PostgreSQL)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;

  before(async () => {
    tdb = await createTestDatabase("notification_shutdown");
    users = await startUsersDouble();
  });

  after(async () => {
    await users?.stop();
    await tdb?.drop();
  });

  it("ends every open stream with OK when shutdown starts, and stops without waiting out the grace period", async () => {
    const bus = createMemoryEventBus({ logger: createLogger({ service: "bus", level: "error" }) });
    const notification = await startNotification({ databaseUrl: tdb.url, users: users.address, bus }, { SHUTDOWN_GRACE: "1h" });
    const streams = await Promise.all(
      [randomUUID(), randomUUID()].map(async (userId) => {
        const it = notification.client.watchOrderUpdates({}, as(await users.tokenFor(userId)))[Symbol.asyncIterator]();
        await it.next(); // the first heartbeat: the stream is registered
        return it;
      }),
    );
    const stopped = notification.service.stop();
    for (const it of streams) assert.deepEqual(await it.next(), { done: true, value: undefined });
    await stopped;
    notification.client.close();
  });
});
