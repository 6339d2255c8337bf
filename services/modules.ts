// Every service of the shop, in start-up order (users first: the others verify tokens against
// its JWKS), with the port each serves gRPC on by default. The single-process shop starts them
// all from this list, and so do the end-to-end tests; a new service is one entry here.
import type { AnyServiceModule } from "../platform/service.js";
import { cartModule } from "./cart/module.js";
import { catalogModule } from "./catalog/module.js";
import { inventoryModule } from "./inventory/module.js";
import { notificationModule } from "./notification/module.js";
import { orderModule } from "./order/module.js";
import { paymentModule } from "./payment/module.js";
import { promotionModule } from "./promotion/module.js";
import { reviewsModule } from "./reviews/module.js";
import { shippingModule } from "./shipping/module.js";
import { usersModule } from "./users/module.js";

export const serviceModules: readonly AnyServiceModule[] = [
  usersModule,
  catalogModule,
  inventoryModule,
  cartModule,
  promotionModule,
  paymentModule,
  shippingModule,
  orderModule,
  notificationModule,
  reviewsModule,
];
