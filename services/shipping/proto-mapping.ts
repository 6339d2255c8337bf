// The shipping service's records in the contract's shapes (shop.shipping.v1) and back: one
// place for every enum and field mapping, used by the handlers and by the events the store enqueues.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { AddressSchema, Address as ProtoAddress } from "../../gen/shop/common/v1/address_pb.js";
import { ShippingSpeed } from "../../gen/shop/common/v1/shipping_speed_pb.js";
import { ShipmentStatus as ProtoStatus, type ShipmentSchema, type ShippingOptionSchema, type TrackingEventSchema } from "../../gen/shop/shipping/v1/shipping_pb.js";
import type { ShippingOption, Speed } from "./rates.js";
import type { ShipmentStatus } from "./shipment-status.js";
import type { Address, Shipment, TrackingScan } from "./shipment.js";

const statusToProto: Record<ShipmentStatus, ProtoStatus> = {
  pending: ProtoStatus.PENDING,
  label_created: ProtoStatus.LABEL_CREATED,
  shipped: ProtoStatus.SHIPPED,
  in_transit: ProtoStatus.IN_TRANSIT,
  out_for_delivery: ProtoStatus.OUT_FOR_DELIVERY,
  delivered: ProtoStatus.DELIVERED,
  exception: ProtoStatus.EXCEPTION,
  cancelled: ProtoStatus.CANCELLED,
};

const speedToProto: Record<Speed, ShippingSpeed> = {
  standard: ShippingSpeed.STANDARD,
  express: ShippingSpeed.EXPRESS,
  overnight: ShippingSpeed.OVERNIGHT,
};

const invert = <K extends string, V extends number>(m: Record<K, V>) => new Map<number, K>(Object.entries(m).map(([k, v]) => [v as V, k as K]));
const statusFromProtoMap = invert(statusToProto);
const speedFromProtoMap = invert(speedToProto);

export const toProtoStatus = (s: ShipmentStatus): ProtoStatus => statusToProto[s];
export const toProtoSpeed = (s: Speed): ShippingSpeed => speedToProto[s];

/** Undefined for UNSPECIFIED (and values this build does not know; the validator refuses those). */
export const fromProtoStatus = (s: ProtoStatus): ShipmentStatus | undefined => statusFromProtoMap.get(s);
export const fromProtoSpeed = (s: ShippingSpeed): Speed | undefined => speedFromProtoMap.get(s);

const time = (d: Date | undefined) => (d ? timestampFromDate(d) : undefined);

export function fromProtoAddress(a: ProtoAddress): Address {
  return {
    recipientName: a.recipientName,
    line1: a.line1,
    line2: a.line2,
    city: a.city,
    region: a.region,
    postalCode: a.postalCode,
    countryCode: a.countryCode,
    phone: a.phone,
  };
}

export const toProtoAddress = (a: Address): MessageInitShape<typeof AddressSchema> => ({ ...a });

export function toProtoShipment(s: Shipment): MessageInitShape<typeof ShipmentSchema> {
  const labelled = s.trackingNumber !== undefined;
  return {
    id: s.id,
    orderId: s.orderId,
    userId: s.userId,
    status: toProtoStatus(s.status),
    destination: toProtoAddress(s.destination),
    speed: toProtoSpeed(s.speed),
    items: s.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
    totalWeightGrams: s.totalWeightGrams,
    // The contract: carrier and tracking number are set once a label exists.
    carrier: labelled ? s.carrier : "",
    trackingNumber: s.trackingNumber ?? "",
    estimatedDeliveryTime: time(s.estimatedDeliveryAt),
    createTime: time(s.createdAt),
    updateTime: time(s.updatedAt),
  };
}

export function toProtoTrackingEvent(e: TrackingScan): MessageInitShape<typeof TrackingEventSchema> {
  return {
    eventId: e.eventId,
    status: toProtoStatus(e.status),
    description: e.description,
    location: e.location,
    eventTime: timestampFromDate(e.eventTime),
  };
}

export function toProtoOption(o: ShippingOption): MessageInitShape<typeof ShippingOptionSchema> {
  return {
    speed: toProtoSpeed(o.speed),
    carrier: o.carrier,
    price: { amountMinor: o.priceMinor, currencyCode: o.currency },
    minTransitDays: o.minTransitDays,
    maxTransitDays: o.maxTransitDays,
    estimatedDeliveryTime: timestampFromDate(o.estimatedDelivery),
  };
}
