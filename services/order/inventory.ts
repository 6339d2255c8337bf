// The order saga's port to the inventory service: hold stock for an order, turn it into a
// sale, give it back (held units released; sold ones, for a cancellation, restocked). Every
// call is idempotent by order id at the inventory, so a resumed saga repeats them safely.
// Failures come back as the peer's ShopError (saga.ts classifies them).
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.js";
import type { ServiceClient } from "../../platform/grpc/index.js";
import type { CartItem } from "./pricing.js";

export interface Inventory {
  /** All lines or none; FAILED_PRECONDITION (with the short lines) when stock is missing. */
  reserve(orderId: string, lines: readonly CartItem[], ttlMs: number): Promise<void>;
  /** FAILED_PRECONDITION if the reservation was released or expired meanwhile. */
  commit(orderId: string): Promise<void>;
  /** Succeeds for an unknown order; FAILED_PRECONDITION once committed (those units are restocked instead). */
  release(orderId: string, reason: string): Promise<void>;
  /** A committed order's units back on hand (cancelled before it shipped); idempotent. */
  restock(orderId: string, reason: string): Promise<void>;
}

export type InventoryClient = ServiceClient<typeof InventoryService>;

export function createGrpcInventory(client: InventoryClient): Inventory {
  return {
    async reserve(orderId, lines, ttlMs) {
      const seconds = Math.ceil(ttlMs / 1000);
      await client.reserveStock({ orderId, lines: lines.map((l) => ({ sku: l.sku, quantity: l.quantity })), ttl: { seconds: BigInt(seconds) } });
    },
    async commit(orderId) {
      await client.commitReservation({ orderId });
    },
    async release(orderId, reason) {
      await client.releaseReservation({ orderId, reason });
    },
    async restock(orderId, reason) {
      await client.restockReservation({ orderId, reason });
    },
  };
}

export { InventoryService };
