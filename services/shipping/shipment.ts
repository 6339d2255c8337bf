// What the shipping service stores about a shipment, in its own terms (store.ts maps it to rows,
// proto-mapping.ts to the contract).
import type { Speed } from "./rates.js";
import type { ShipmentStatus } from "./shipment-status.js";

export interface Address {
  readonly recipientName: string;
  readonly line1: string;
  readonly line2: string;
  readonly city: string;
  readonly region: string;
  readonly postalCode: string;
  readonly countryCode: string;
  readonly phone: string;
}

export interface ShipmentItem {
  readonly sku: string;
  readonly quantity: number;
}

export interface Shipment {
  readonly id: string;
  readonly orderId: string;
  /** The order's owner: the only customer who may see this shipment. */
  readonly userId: string;
  readonly status: ShipmentStatus;
  readonly speed: Speed;
  readonly destination: Address;
  readonly items: readonly ShipmentItem[];
  /** 0 when unknown. */
  readonly totalWeightGrams: number;
  readonly carrier: string;
  /** Set together once the carrier has issued a label. */
  readonly trackingNumber: string | undefined;
  readonly labelCreatedAt: Date | undefined;
  readonly shippedAt: Date | undefined;
  readonly deliveredAt: Date | undefined;
  readonly estimatedDeliveryAt: Date | undefined;
  /** Time of the newest event that set the status. */
  readonly statusTime: Date;
  /** When the tracking job should look at it next; undefined: never. */
  readonly nextCheckAt: Date | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** One carrier scan or status change in a shipment's history. */
export interface TrackingScan {
  /** The carrier's id for the event; a second scan with the same id is a duplicate. */
  readonly eventId: string;
  /** The status the shipment is in after this event, as the carrier saw it. */
  readonly status: ShipmentStatus;
  readonly description: string;
  readonly location: string;
  readonly eventTime: Date;
}
