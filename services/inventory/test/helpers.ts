// Small named fixtures for the inventory service tests: the service on a real port against its
// own real PostgreSQL database, a clock the test can move, a users service test double that
// serves a JWKS (so admins and customers go through the platform's real token verification),
// and readers of what the service stored and enqueued.
import { randomUUID } from "node:crypto";
import { InventoryService } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { createClient, type CallOptions, type ServiceClient } from "../../../platform/grpc/index.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { createInventoryModule } from "../module.js";
import { startUsersDouble as startUsersDoubleFor, type UsersDouble } from "../../../platform/testing/grpc-double.js";

import { as } from "../../../platform/testing/calls.js";
export { as, rejectionOf } from "../../../platform/testing/calls.js";
import { testClock, type TestClock } from "../../../platform/testing/clock.js";
export { testClock, type TestClock } from "../../../platform/testing/clock.js";
export type { UsersDouble } from "../../../platform/testing/grpc-double.js";
export { outboxEvents, outboxMark, outboxTypes } from "../../../platform/testing/outbox.js";

export type InventoryClient = ServiceClient<typeof InventoryService>;

export const AUTH = { issuer: "shop-users-inventory-test", audience: "shop-inventory-test" };

/** The users service as this service sees it: a JWKS, and tokens for AUTH signed with its key. */
export const startUsersDouble = (): Promise<UsersDouble> => startUsersDoubleFor(AUTH);

export interface RunningInventory {
  readonly client: InventoryClient;
  readonly clock: TestClock;
  readonly users: UsersDouble;
  /** The service's schema, for looking at what it stored. */
  readonly db: Db;
  readonly service: RunningService;
  /** Call options of an admin and of a customer. */
  readonly admin: CallOptions;
  readonly customer: CallOptions;
  readonly adminId: string;
  stop(): Promise<void>;
}

/** The inventory service on a fresh database; `env` adds or overrides settings. */
export async function startInventory(env: Record<string, string> = {}, clock = testClock()): Promise<RunningInventory> {
  const tdb: TestDatabase = await createTestDatabase("inventory");
  const users = await startUsersDouble();
  try {
    const service = await startService(createInventoryModule({ clock: clock.now }), {
      DATABASE_URL: tdb.url,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      LOG_LEVEL: "error",
      USERS_ADDR: users.address,
      AUTH_ISSUER: AUTH.issuer,
      AUTH_AUDIENCE: AUTH.audience,
      ...env,
    });
    // A generous deadline: on a busy machine a burst of calls queues for a while, and tests
    // prove outcomes, not speed (a deadline failure would also open the client's breaker).
    const client = createClient(InventoryService, { name: "inventory", address: `127.0.0.1:${service.port}`, timeoutMs: 60_000 });
    const db = createDb({ url: tdb.url, schema: "inventory", applicationName: "inventory-test" });
    const adminId = randomUUID();
    return {
      client,
      clock,
      users,
      db,
      service,
      adminId,
      admin: as(await users.tokenFor(adminId, ["customer", "admin"])),
      customer: as(await users.tokenFor(randomUUID())),
      async stop() {
        client.close();
        await service.stop();
        await db.close();
        await users.stop();
        await tdb.drop();
      },
    };
  } catch (err) {
    await users.stop();
    await tdb.drop();
    throw err;
  }
}

let counter = 0;

/** A SKU code no other test uses. */
export function uniqueSku(prefix = "SKU"): string {
  return `${prefix}-${Date.now().toString(36)}-${counter++}`.toUpperCase();
}

/** Stocks `units` of a new SKU through AdjustStock (as an admin would) and returns its code. */
export async function stockedSku(inv: RunningInventory, units: number, lowStockThreshold?: number): Promise<string> {
  const sku = uniqueSku();
  await inv.client.adjustStock({ sku, delta: units, reason: "test delivery", ...(lowStockThreshold === undefined ? {} : { lowStockThreshold }) }, inv.admin);
  return sku;
}

export const orderId = (): string => randomUUID();
