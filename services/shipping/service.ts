// ShippingService's gRPC handlers: requests mapped to the operations (rate-book.ts for quotes,
// shipments.ts for the rest) and the results to the contract. Access levels are enforced by the
// platform before these run; ownership is in shipments.ts: a customer only ever sees the
// shipments of their own orders, admins all of them.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ShippingService } from "../../gen/shop/shipping/v1/shipping_pb.js";
import { failedPrecondition, fieldError } from "../../platform/errors.js";
import { ADMIN_ROLE, requireCaller, type CallContext, type ServiceImpl } from "../../platform/grpc/index.js";
import { checkCountryCode } from "./countries.js";
import { decodePageToken, encodePageToken, pageSize } from "../../platform/page-token.js";
import { fromProtoAddress, fromProtoSpeed, fromProtoStatus, toProtoOption, toProtoShipment, toProtoStatus, toProtoTrackingEvent } from "./proto-mapping.js";
import type { RateBook } from "./rate-book.js";
import type { Shipments, Viewer } from "./shipments.js";

const SHIPMENTS_PAGE_SIZE = 20;

export interface ShippingServiceDeps {
  readonly rates: RateBook;
  readonly shipments: Shipments;
}

// USER methods: the platform already refused anonymous callers; requireCaller names the caller.
function viewerOf(ctx: CallContext): Viewer {
  const caller = requireCaller(ctx);
  return { userId: caller.subject, admin: caller.roles.includes(ADMIN_ROLE) };
}

/** The validator refuses UNSPECIFIED where the contract says so; this is the typed guard behind it. */
function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw fieldError(field, "must be set");
  return value;
}

export function createShippingService({ rates, shipments }: ShippingServiceDeps): ServiceImpl<typeof ShippingService> {
  return {
    quoteShipping: async (req) => {
      const options = await rates.quote({
        country: req.countryCode,
        region: req.region,
        weightGrams: req.totalWeightGrams,
        speed: fromProtoSpeed(req.speed),
        currency: req.currencyCode,
      });
      return { options: options.map(toProtoOption) };
    },

    createShipment: async (req) => {
      const destination = required(req.destination, "destination");
      checkCountryCode(destination.countryCode, "destination.country_code");
      const shipment = await shipments.createForOrder({
        orderId: req.orderId,
        userId: req.userId,
        destination: fromProtoAddress(destination),
        speed: required(fromProtoSpeed(req.speed), "speed"),
        items: req.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
        totalWeightGrams: req.totalWeightGrams,
      });
      if (!shipment) throw failedPrecondition(`order ${req.orderId} was cancelled; it ships nothing`);
      return { shipment: toProtoShipment(shipment) };
    },

    getShipment: async (req, ctx) => ({ shipment: toProtoShipment(await shipments.get(req.shipmentId, viewerOf(ctx))) }),

    listShipments: async (req, ctx) => {
      const page = await shipments.listForOrder(req.orderId, viewerOf(ctx), decodePageToken(req.pageToken), pageSize(req.pageSize, SHIPMENTS_PAGE_SIZE));
      return { shipments: page.shipments.map(toProtoShipment), nextPageToken: page.next ? encodePageToken(page.next) : "" };
    },

    getTracking: async (req) => {
      const { lookup } = req;
      if (lookup.case === undefined) throw fieldError("lookup", "set shipment_id or tracking_number");
      const { shipment, events } = await shipments.tracking(
        lookup.case === "shipmentId" ? { shipmentId: lookup.value } : { trackingNumber: lookup.value },
      );
      return {
        shipmentId: shipment.id,
        carrier: shipment.trackingNumber === undefined ? "" : shipment.carrier,
        trackingNumber: shipment.trackingNumber ?? "",
        status: toProtoStatus(shipment.status),
        estimatedDeliveryTime: toProtoShipment(shipment).estimatedDeliveryTime,
        events: events.map(toProtoTrackingEvent),
      };
    },

    updateShipmentStatus: async (req) => {
      const status = required(fromProtoStatus(req.status), "status");
      return { shipment: toProtoShipment(await shipments.forceStatus(req.shipmentId, status, req.note)) };
    },

    addTrackingEvent: async (req) => {
      const event = required(req.event, "event");
      const shipment = await shipments.addScan(req.shipmentId, {
        eventId: event.eventId,
        status: required(fromProtoStatus(event.status), "event.status"),
        description: event.description,
        location: event.location,
        eventTime: timestampDate(required(event.eventTime, "event.event_time")),
      });
      return { shipment: toProtoShipment(shipment) };
    },
  };
}

export { ShippingService };
