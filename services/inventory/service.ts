// InventoryService's gRPC handlers: proto in, domain call, proto out. Access levels (internal
// for the saga's and the cart's calls, admin for AdjustStock and ListReservations) are enforced
// by the platform from the contract before a handler runs; field bounds by its validator.
import { timestampFromDate, type Duration } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  InventoryService,
  ReservationStatus,
  type ReservationSchema,
  type StockLevelSchema,
} from "../../gen/shop/inventory/v1/inventory_pb.js";
import { requireCaller, type ServiceImpl } from "../../platform/grpc/index.js";
import type { ReservationStatus as Status, StoredReservation } from "./reservation-rules.js";
import type { Reservations } from "./reservations.js";
import type { StockLevels } from "./stock-levels.js";
import { available, type StockLevel } from "./stock-rules.js";

export interface InventoryServiceDeps {
  readonly stock: StockLevels;
  readonly reservations: Reservations;
}

const statuses: Record<Status, ReservationStatus> = {
  active: ReservationStatus.ACTIVE,
  committed: ReservationStatus.COMMITTED,
  released: ReservationStatus.RELEASED,
  expired: ReservationStatus.EXPIRED,
  restocked: ReservationStatus.RESTOCKED,
};

const statusFilter = (s: ReservationStatus): Status | undefined =>
  (Object.keys(statuses) as Status[]).find((k) => statuses[k] === s);

const stockProto = (s: StockLevel): MessageInitShape<typeof StockLevelSchema> => ({
  sku: s.sku,
  onHand: s.onHand,
  reserved: s.reserved,
  available: available(s),
  lowStockThreshold: s.lowStockThreshold,
  updateTime: s.updatedAt && timestampFromDate(s.updatedAt),
});

const reservationProto = (r: StoredReservation): MessageInitShape<typeof ReservationSchema> => ({
  orderId: r.orderId,
  lines: r.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
  status: statuses[r.status],
  createTime: timestampFromDate(r.createdAt),
  expireTime: timestampFromDate(r.expiresAt),
  releaseReason: r.releaseReason,
});

/** Milliseconds of a requested ttl, rounded up; 0 (or unset) asks for the server's default. */
function ttlMs(d: Duration | undefined): number {
  if (!d) return 0;
  return Number(d.seconds) * 1000 + Math.ceil(d.nanos / 1e6);
}

export function createInventoryService({ stock, reservations }: InventoryServiceDeps): ServiceImpl<typeof InventoryService> {
  return {
    async getStock(req) {
      const [level] = await stock.levels([req.sku]);
      return { stock: level && stockProto(level) };
    },
    async batchGetStock(req) {
      return { stock: (await stock.levels(req.skus)).map(stockProto) };
    },
    async reserveStock(req) {
      const lines = req.lines.map((l) => ({ sku: l.sku, quantity: l.quantity }));
      return { reservation: reservationProto(await reservations.reserve(req.orderId, lines, ttlMs(req.ttl))) };
    },
    async commitReservation(req) {
      return { reservation: reservationProto(await reservations.commit(req.orderId)) };
    },
    async releaseReservation(req) {
      const released = await reservations.release(req.orderId, req.reason);
      return { reservation: released && reservationProto(released) };
    },
    async restockReservation(req) {
      return { reservation: reservationProto(await reservations.restock(req.orderId, req.reason)) };
    },
    async adjustStock(req, ctx) {
      // ADMIN: the platform already refused anyone without the role; the actor goes to the history.
      const actor = requireCaller(ctx).subject;
      const level = await stock.adjust({ sku: req.sku, delta: req.delta, lowStockThreshold: req.lowStockThreshold, reason: req.reason, actor });
      return { stock: stockProto(level) };
    },
    async listReservations(req) {
      const page = await reservations.list({ pageSize: req.pageSize, pageToken: req.pageToken, status: statusFilter(req.status), sku: req.sku });
      return { reservations: page.reservations.map(reservationProto), nextPageToken: page.nextPageToken };
    },
  };
}

export { InventoryService };
