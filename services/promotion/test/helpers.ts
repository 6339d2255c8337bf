// Small named fixtures for the promotion service tests: the service on a real port against its
// own real PostgreSQL database, and a real gRPC users double serving a JWKS, so admins and
// customers go through the platform's real token verification and access checks.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { PromotionKind, PromotionService, type PromotionSchema } from "../../../gen/shop/promotion/v1/promotion_pb.js";
import { createDb, type Db } from "../../../platform/db/db.js";
import { createClient, type ServiceClient } from "../../../platform/grpc/index.js";
import { startService, type RunningService } from "../../../platform/service.js";
import { createPromotionModule } from "../module.js";
import { startUsersDouble as startUsersDoubleFor, type UsersDouble } from "../../../platform/testing/grpc-double.js";

export { as, rejectionOf } from "../../../platform/testing/calls.js";
import type { TestClock } from "../../../platform/testing/clock.js";
export { testClock, type TestClock } from "../../../platform/testing/clock.js";
export type { UsersDouble } from "../../../platform/testing/grpc-double.js";
export { outboxMark, outboxRows } from "../../../platform/testing/outbox.js";

export type PromotionClient = ServiceClient<typeof PromotionService>;
export type PromotionInit = MessageInitShape<typeof PromotionSchema>;

export const AUTH = { issuer: "shop-users-promotion-test", audience: "shop-promotion-test" };

/** The users service as this service sees it: a JWKS, and tokens for AUTH signed with its key. */
export const startUsersDouble = (): Promise<UsersDouble> => startUsersDoubleFor(AUTH);

export interface RunningPromotion {
  readonly client: PromotionClient;
  readonly service: RunningService;
  stop(): Promise<void>;
}

/** The promotion service on a real port. */
export async function startPromotion(opts: { databaseUrl: string; users: string; clock?: TestClock; env?: Record<string, string> }): Promise<RunningPromotion> {
  const service = await startService(createPromotionModule(opts.clock ? { clock: opts.clock.now } : {}), {
    DATABASE_URL: opts.databaseUrl,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    LOG_LEVEL: "error",
    USERS_ADDR: opts.users,
    AUTH_ISSUER: AUTH.issuer,
    AUTH_AUDIENCE: AUTH.audience,
    ...opts.env,
  });
  const client = createClient(PromotionService, { name: "promotion", address: `127.0.0.1:${service.port}` });
  return {
    client,
    service,
    async stop() {
      client.close();
      await service.stop();
    },
  };
}

/** The promotion service's schema, to look at what it stored. */
export const promotionDb = (databaseUrl: string): Db => createDb({ url: databaseUrl, schema: "promotion", applicationName: "promotion-test" });

let counter = 0;

/** A coupon code no other test uses. */
export function uniqueCode(prefix = "C"): string {
  return `${prefix}${Date.now().toString(36)}${counter++}`.toUpperCase();
}

/** A SKU no other test uses, so automatic promotions of one test never touch another's carts. */
export function uniqueSku(prefix = "SKU"): string {
  return `${prefix}-${Date.now().toString(36)}-${counter++}`.toUpperCase();
}

export const usd = (amountMinor: bigint) => ({ amountMinor, currencyCode: "USD" });
export const at = (d: Date) => timestampFromDate(d);

/** A promotion as an admin would send it: a 10% coupon on the given SKUs unless overridden. */
export function promotionInit(skus: readonly string[], overrides: PromotionInit = {}): PromotionInit {
  const defaults: PromotionInit = { name: "Test promotion", kind: PromotionKind.PERCENTAGE, percentBps: 1000, appliesTo: { skus: [...skus], categoryIds: [] } };
  return { ...defaults, ...overrides } as PromotionInit;
}
