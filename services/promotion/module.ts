// The promotion service as the platform runs it: no peers and no settings of its own; callers'
// tokens (admins) are verified by the platform against the users service's JWKS (USERS_ADDR).
import { sourcePath } from "../../platform/paths.js";
import type { ServiceModule } from "../../platform/service.js";
import { createPromotions } from "./promotions.js";
import { createRedemptions } from "./redemptions.js";
import { createPromotionService, PromotionService } from "./service.js";
import { createPromotionStore } from "./store.js";

export interface PromotionModuleOptions {
  /** The service's notion of now: promotion windows and stored times. Tests move it. */
  readonly clock?: () => Date;
}

export function createPromotionModule(opts: PromotionModuleOptions = {}): ServiceModule {
  const clock = opts.clock ?? (() => new Date());
  return {
    name: "promotion",
    defaultPort: 50055,
    migrations: sourcePath("services", "promotion", "migrations"),
    setup({ db, server }) {
      const store = createPromotionStore(db);
      server.add(PromotionService, createPromotionService({ promotions: createPromotions({ store, clock }), redemptions: createRedemptions({ store, clock }) }));
    },
  };
}

export const promotionModule = createPromotionModule();
