// The shipment operations, between the thin gRPC handlers (service.ts), the order events
// (order-events.ts), the tracking job (tracking-job.ts) and the store: each change runs under the
// shipment's row lock, applies the status rules (shipment-status.ts), records the tracking event,
// and enqueues TrackingUpdated, ShipmentShipped and ShipmentDelivered in the same transaction.
//
// Carrier calls happen while the row is locked: two replicas (or the job and an admin) can then
// never book two labels for one parcel. A carrier is therefore given short timeouts by its
// adapter, and the tracking job handles one shipment per transaction.
import { randomUUID } from "node:crypto";
import type { Queryable } from "../../platform/db/db.js";
import { failedPrecondition, fieldError, notFound, unavailable } from "../../platform/errors.js";
import type { Logger } from "../../platform/logger.js";
import type { Carrier, Label, Parcel, TrackResult } from "./carriers/carrier.js";
import type { Weights } from "./catalog.js";
import type { RateBook } from "./rate-book.js";
import { addBusinessDays, type Speed } from "./rates.js";
import { forcedStatus, isFinal, isTracked, needsLabel, statusAfterScan, transition, type ShipmentStatus } from "./shipment-status.js";
import type { Address, Shipment, ShipmentItem, TrackingScan } from "./shipment.js";
import type { PageKey } from "../../platform/page-token.js";
import type { ShippingStore, ShippingTx } from "./store.js";

export interface NewShipment {
  readonly orderId: string;
  readonly userId: string;
  readonly destination: Address;
  readonly speed: Speed;
  readonly items: readonly ShipmentItem[];
  readonly totalWeightGrams: number;
}

/** Who is asking: customers see their own orders' shipments, admins every one. */
export interface Viewer {
  readonly userId: string;
  readonly admin: boolean;
}

export interface ShipmentPage {
  readonly shipments: readonly Shipment[];
  readonly next: PageKey | undefined;
}

export interface Tracking {
  readonly shipment: Shipment;
  /** Newest first. */
  readonly events: readonly TrackingScan[];
}

export interface ShipmentsDeps {
  readonly store: ShippingStore;
  readonly rates: RateBook;
  readonly carriers: ReadonlyMap<string, Carrier>;
  /** Weighs parcels created without a weight (from OrderPlaced) before their label. */
  readonly weights: Weights;
  readonly clock: () => Date;
  readonly log: Logger;
  /** The carrier of shipments whose destination and speed the rate table does not offer. */
  readonly defaultCarrier: string;
  /** How long the job waits before asking a carrier that failed again. */
  readonly retryMs: number;
  /** How long the job waits before polling a carrier that did not say when to ask next. */
  readonly pollMs: number;
}

export interface Shipments {
  /** The order's shipment, created if it has none; undefined if the order was cancelled. */
  createForOrder(input: NewShipment, q?: Queryable): Promise<Shipment | undefined>;
  /** Cancels the order's shipment unless the carrier has it; remembers the order either way. */
  cancelForOrder(orderId: string, reason: string, q: Queryable): Promise<void>;
  /** NOT_FOUND for shipments of other customers' orders. */
  get(id: string, viewer: Viewer): Promise<Shipment>;
  listForOrder(orderId: string, viewer: Viewer, after: PageKey | undefined, limit: number): Promise<ShipmentPage>;
  tracking(lookup: { shipmentId: string } | { trackingNumber: string }): Promise<Tracking>;
  /** An admin's order: FAILED_PRECONDITION for moves the rules refuse. */
  forceStatus(id: string, status: ShipmentStatus, note: string): Promise<Shipment>;
  /** A carrier scan from a webhook or an admin; a repeated event id changes nothing. */
  addScan(id: string, scan: TrackingScan): Promise<Shipment>;
  /** The tracking job's unit of work: label or poll one due shipment. False if it was not due (or taken). */
  advance(id: string): Promise<boolean>;
  dueIds(limit: number): Promise<string[]>;
}

export function createShipments(deps: ShipmentsDeps): Shipments {
  const { store, rates, carriers, clock, log } = deps;
  const later = (now: Date, ms: number) => new Date(now.getTime() + ms);

  function carrierOf(s: Shipment): Carrier {
    const carrier = carriers.get(s.carrier);
    if (!carrier) throw failedPrecondition(`no adapter for carrier ${s.carrier}`);
    return carrier;
  }

  function parcelOf(s: Shipment): Parcel {
    if (s.trackingNumber === undefined || s.labelCreatedAt === undefined) throw new Error(`shipment ${s.id} has no label`);
    return { shipmentId: s.id, trackingNumber: s.trackingNumber, labelCreatedAt: s.labelCreatedAt, destination: s.destination };
  }

  async function estimateFrom(tx: ShippingTx, s: Shipment, from: Date): Promise<Date | undefined> {
    const service = await rates.service({ country: s.destination.countryCode, region: s.destination.region }, s.speed, () => tx.loadRateTable());
    return service ? addBusinessDays(from, service.maxTransitDays) : s.estimatedDeliveryAt;
  }

  /** Moves `s` to `next` because of `scan` (already in the history) and enqueues what that move means. */
  async function apply(tx: ShippingTx, s: Shipment, scan: TrackingScan, next: ShipmentStatus, now: Date): Promise<Shipment> {
    const t = transition(s, next, scan.eventTime);
    const updated: Shipment = {
      ...s,
      status: t.status,
      statusTime: t.statusTime,
      shippedAt: t.shippedAt,
      deliveredAt: t.deliveredAt,
      // Once the carrier has it, the estimate counts from the pickup, not from the order.
      estimatedDeliveryAt: t.shipped && t.shippedAt ? await estimateFrom(tx, s, t.shippedAt) : s.estimatedDeliveryAt,
      nextCheckAt: isTracked(t.status) ? (s.nextCheckAt ?? now) : undefined,
      updatedAt: now,
    };
    await tx.trackingUpdated(updated, scan);
    if (t.shipped) await tx.shipmentShipped(updated);
    if (t.delivered) await tx.shipmentDelivered(updated);
    return updated;
  }

  /** Records a carrier scan and applies it; a scan already in the history changes nothing. */
  async function recordScan(tx: ShippingTx, s: Shipment, scan: TrackingScan, now: Date): Promise<Shipment> {
    if (!(await tx.addScan(s.id, scan, now))) return s;
    return apply(tx, s, scan, statusAfterScan(s, scan.status, scan.eventTime), now);
  }

  function bookLabel(carrier: Carrier, s: Shipment): Promise<Label> {
    return carrier.createLabel({ shipmentId: s.id, speed: s.speed, destination: s.destination, items: s.items, totalWeightGrams: s.totalWeightGrams });
  }

  async function applyLabel(tx: ShippingTx, s: Shipment, label: Label, now: Date): Promise<Shipment> {
    const labelled: Shipment = { ...s, trackingNumber: label.trackingNumber, labelCreatedAt: label.createdAt, updatedAt: now };
    const scan: TrackingScan = { eventId: `label-${s.id}`, status: "label_created", description: "Shipping label created", location: "", eventTime: label.createdAt };
    return recordScan(tx, labelled, scan, now);
  }

  /** The label an admin's or webhook's move needs, booked now; UNAVAILABLE if the carrier fails. */
  async function ensureLabel(tx: ShippingTx, s: Shipment, target: ShipmentStatus, now: Date): Promise<Shipment> {
    if (!needsLabel(target) || s.trackingNumber !== undefined) return s;
    const carrier = carrierOf(s);
    let label: Label;
    try {
      label = await bookLabel(carrier, s);
    } catch (err) {
      throw unavailable(`carrier ${carrier.name} could not create a label; try again later`, err);
    }
    return applyLabel(tx, s, label, now);
  }

  async function cancelIn(tx: ShippingTx, s: Shipment, description: string, now: Date): Promise<Shipment> {
    const scan: TrackingScan = { eventId: `cancel-${s.id}`, status: "cancelled", description, location: "", eventTime: now };
    await tx.addScan(s.id, scan, now);
    const cancelled = await apply(tx, s, scan, "cancelled", now);
    if (s.trackingNumber !== undefined) {
      // Best effort: an unused label left unvoided costs a fee, not a reason to keep the parcel.
      try {
        await carrierOf(s).cancelLabel(parcelOf(s));
      } catch (err) {
        log.warn("could not void the label of a cancelled shipment", { shipmentId: s.id, carrier: s.carrier, err });
      }
    }
    return cancelled;
  }

  /**
   * The weight of a parcel about to be labelled that has none yet, asked outside any transaction:
   * in the single-process mode one PostgreSQL connection serves every service, and the catalog's
   * query would wait behind a transaction of ours. Unknown (undefined) if the catalog fails: the
   * parcel ships anyway, a paid order is not held up by the catalog.
   */
  async function weighBeforeLabel(id: string): Promise<number | undefined> {
    const s = await store.get(id);
    if (!s || s.trackingNumber !== undefined || s.totalWeightGrams !== 0 || s.status !== "pending") return undefined;
    try {
      return await deps.weights.totalGrams(s.items);
    } catch (err) {
      log.warn("catalog unavailable: labelling a parcel of unknown weight", { shipmentId: id, err });
      return undefined;
    }
  }

  const visibleTo = (s: Shipment, viewer: Viewer) => viewer.admin || s.userId === viewer.userId;

  return {
    async createForOrder(input, q) {
      const run = <T>(fn: (tx: ShippingTx) => Promise<T>) => (q ? fn(store.within(q)) : store.transact(fn));
      return run(async (tx) => {
        const existing = await tx.byOrder(input.orderId);
        if (existing) return existing;
        if (await tx.isOrderCancelled(input.orderId)) return undefined;
        const now = clock();
        const service = await rates.service({ country: input.destination.countryCode, region: input.destination.region }, input.speed, () => tx.loadRateTable());
        if (!service) log.warn("the rate table does not offer this destination and speed; shipping anyway", { orderId: input.orderId, speed: input.speed });
        const shipment: Shipment = {
          id: randomUUID(),
          orderId: input.orderId,
          userId: input.userId,
          status: "pending",
          speed: input.speed,
          destination: input.destination,
          items: input.items,
          totalWeightGrams: input.totalWeightGrams,
          carrier: service?.carrier ?? deps.defaultCarrier,
          trackingNumber: undefined,
          labelCreatedAt: undefined,
          shippedAt: undefined,
          deliveredAt: undefined,
          estimatedDeliveryAt: service ? addBusinessDays(now, service.maxTransitDays) : undefined,
          statusTime: now,
          // Due at once: the tracking job books the label on its next round.
          nextCheckAt: now,
          createdAt: now,
          updatedAt: now,
        };
        // A concurrent creator for the same order wins the unique order_id; we return its shipment.
        if (!(await tx.insert(shipment))) return tx.byOrder(input.orderId);
        await tx.shipmentCreated(shipment);
        return shipment;
      });
    },

    async cancelForOrder(orderId, reason, q) {
      const tx = store.within(q);
      await tx.markOrderCancelled(orderId, clock());
      const found = await tx.byOrder(orderId);
      const s = found && (await tx.lock(found.id));
      if (!s || isFinal(s.status)) return;
      // After the lock: the job may just have labelled it, and history follows time.
      const now = clock();
      if (s.shippedAt) {
        log.warn("order cancelled after its parcel reached the carrier; the shipment goes on", { orderId, shipmentId: s.id });
        return;
      }
      await tx.save(await cancelIn(tx, s, reason ? `Order cancelled: ${reason}` : "Order cancelled", now));
    },

    async get(id, viewer) {
      const s = await store.get(id);
      if (!s || !visibleTo(s, viewer)) throw notFound("shipment", id);
      return s;
    },

    async listForOrder(orderId, viewer, after, limit) {
      // Another customer's order simply has no shipments for this viewer.
      const rows = await store.listByOrder(orderId, viewer.admin ? undefined : viewer.userId, after, limit + 1);
      const shipments = rows.slice(0, limit);
      const last = shipments[shipments.length - 1];
      return { shipments, next: rows.length > limit && last ? { time: last.createdAt, id: last.id } : undefined };
    },

    async tracking(lookup) {
      const s = "shipmentId" in lookup ? await store.get(lookup.shipmentId) : await store.byTrackingNumber(lookup.trackingNumber);
      if (!s) throw "shipmentId" in lookup ? notFound("shipment", lookup.shipmentId) : notFound("tracking number", lookup.trackingNumber);
      return { shipment: s, events: await store.history(s.id) };
    },

    forceStatus: (id, target, note) =>
      store.transact(async (tx) => {
        const s = await tx.lock(id);
        if (!s) throw notFound("shipment", id);
        if (forcedStatus(s, target) === s.status) return s;
        const now = clock();
        const description = note || `Status set to ${target.replaceAll("_", " ")} by an admin`;
        let updated: Shipment;
        if (target === "cancelled") {
          updated = await cancelIn(tx, s, description, now);
        } else {
          // Booking the label may itself be the move asked for (LABEL_CREATED).
          updated = await ensureLabel(tx, s, target, now);
          if (updated.status !== target) {
            const scan: TrackingScan = { eventId: `admin-${randomUUID()}`, status: target, description, location: "", eventTime: now };
            await tx.addScan(s.id, scan, now);
            updated = await apply(tx, updated, scan, target, now);
          }
        }
        await tx.save(updated);
        return updated;
      }),

    async addScan(id, scan) {
      if (scan.status === "pending" || scan.status === "cancelled") {
        throw fieldError("event.status", `${scan.status} is not a carrier scan; use UpdateShipmentStatus`);
      }
      return store.transact(async (tx) => {
        const s = await tx.lock(id);
        if (!s) throw notFound("shipment", id);
        const now = clock();
        const labelled = await ensureLabel(tx, s, statusAfterScan(s, scan.status, scan.eventTime), now);
        const updated = await recordScan(tx, labelled, scan, now);
        if (updated !== s) await tx.save(updated);
        return updated;
      });
    },

    advance: async (id) => {
      const weight = await weighBeforeLabel(id);
      return store.transact(async (tx) => {
        const now = clock();
        const due = await tx.lockDue(id, now);
        if (!due) return false;
        const s = weight !== undefined && due.trackingNumber === undefined && due.totalWeightGrams === 0 ? { ...due, totalWeightGrams: weight } : due;
        const carrier = carriers.get(s.carrier);
        const retry = async (cur: Shipment, msg: string, err?: unknown) => {
          log.warn(msg, { shipmentId: s.id, carrier: s.carrier, err });
          await tx.save({ ...cur, nextCheckAt: later(now, deps.retryMs), updatedAt: now });
          return true;
        };
        if (!carrier) return retry(s, "no adapter for the shipment's carrier; will retry");
        let cur = s;
        if (cur.trackingNumber === undefined) {
          let label: Label;
          try {
            label = await bookLabel(carrier, cur);
          } catch (err) {
            return retry(cur, "carrier could not create a label; will retry", err);
          }
          cur = await applyLabel(tx, cur, label, now);
        }
        let tracked: TrackResult;
        try {
          tracked = await carrier.track(parcelOf(cur));
        } catch (err) {
          return retry(cur, "carrier tracking failed; will retry", err);
        }
        const scans = [...tracked.scans].sort((a, b) => a.eventTime.getTime() - b.eventTime.getTime());
        for (const scan of scans) cur = await recordScan(tx, cur, scan, now);
        const nextCheckAt = isTracked(cur.status) ? (tracked.nextCheckAt ?? later(now, deps.pollMs)) : undefined;
        await tx.save({ ...cur, nextCheckAt, updatedAt: now });
        return true;
      });
    },

    dueIds: (limit) => store.dueIds(clock(), limit),
  };
}
