// The order service's port to the cart service: the caller's cart at checkout. The cart
// service identifies the caller itself from the access token that the platform's client
// forwards from the inbound call, so no user id is passed (nor could one be forged).
// Only SKUs and quantities are taken from the cart: prices come from the catalog.
import { CartService } from "../../gen/shop/cart/v1/cart_pb.js";
import type { ServiceClient } from "../../platform/grpc/index.js";
import type { CartItem } from "./pricing.js";

export interface CartSnapshot {
  readonly items: readonly CartItem[];
  /** Units available per SKU as the cart last saw them; absent when unknown. For warnings only. */
  readonly available: ReadonlyMap<string, number>;
}

export interface Carts {
  /** The current caller's cart; must run inside the inbound call (for its credentials). */
  callerCart(): Promise<CartSnapshot>;
}

export type CartClient = ServiceClient<typeof CartService>;

export function createGrpcCarts(client: CartClient): Carts {
  return {
    async callerCart() {
      const { cart } = await client.getCart({ cartToken: "" });
      const lines = cart?.lines ?? [];
      const available = new Map<string, number>();
      for (const l of lines) if (l.availability) available.set(l.sku, l.availability.quantityAvailable);
      return { items: lines.map((l) => ({ sku: l.sku, quantity: l.quantity })), available };
    },
  };
}

export { CartService };
