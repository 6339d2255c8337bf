// The one interface every carrier adapter implements. The service never talks to a carrier
// another way: the tracking job books labels and polls scans through it, and the shipment's
// `carrier` column (chosen from the rate table) names the adapter.
//
// Calls are made while the shipment's row is locked (see shipments.ts), so two replicas never
// book two labels for one parcel; adapters must still be idempotent by shipment id, because a
// transaction that fails after the carrier answered is retried.
import type { Speed } from "../rates.js";
import type { Address, ShipmentItem, TrackingScan } from "../shipment.js";

export interface LabelRequest {
  /** Idempotency key: the same shipment always gets the same label. */
  readonly shipmentId: string;
  readonly speed: Speed;
  readonly destination: Address;
  readonly items: readonly ShipmentItem[];
  /** 0 when unknown. */
  readonly totalWeightGrams: number;
}

export interface Label {
  readonly trackingNumber: string;
  /** When the carrier issued it. */
  readonly createdAt: Date;
}

/** A labelled parcel, as the carrier is asked about it. */
export interface Parcel {
  readonly shipmentId: string;
  readonly trackingNumber: string;
  readonly labelCreatedAt: Date;
  readonly destination: Address;
}

export interface TrackResult {
  /** Every scan the carrier has for the parcel (repeats are fine: they are deduplicated by event id). */
  readonly scans: readonly TrackingScan[];
  /** When asking again may bring news; undefined: the carrier has nothing more to say. */
  readonly nextCheckAt: Date | undefined;
}

export interface Carrier {
  /** As named in the rate table's `carrier` column and shown to customers. */
  readonly name: string;
  createLabel(req: LabelRequest): Promise<Label>;
  track(parcel: Parcel): Promise<TrackResult>;
  /** Voids an unused label (the order was cancelled before pickup). */
  cancelLabel(parcel: Parcel): Promise<void>;
}
