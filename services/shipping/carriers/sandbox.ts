// A carrier that exists only in this service, for development, demos and tests: labels are free
// and instant, and each parcel then moves one step every `stepMs` of the service's clock, from
// its label's time: picked up, in transit, out for delivery, delivered. Its answers are a pure
// function of the parcel and the clock, so it keeps no state, survives restarts, and any number
// of replicas agree on what happened (event ids are derived from the tracking number).
import { createHash } from "node:crypto";
import type { ShipmentStatus } from "../shipment-status.js";
import type { TrackingScan } from "../shipment.js";
import type { Carrier, Parcel } from "./carrier.js";

export const SANDBOX_CARRIER = "sandbox";

export interface SandboxCarrierOptions {
  /** Time between two scans of a parcel (SHIPPING_SANDBOX_STEP). */
  readonly stepMs: number;
  readonly clock: () => Date;
}

const STEPS: readonly { status: ShipmentStatus; description: string; where: "origin" | "hub" | "destination" }[] = [
  { status: "shipped", description: "Picked up by the carrier", where: "origin" },
  { status: "in_transit", description: "Arrived at sorting facility", where: "hub" },
  { status: "out_for_delivery", description: "Out for delivery", where: "destination" },
  { status: "delivered", description: "Delivered", where: "destination" },
];

const ORIGIN = "Sandbox depot, Memphis, TN, US";
const HUB = "Sandbox sorting hub";

/** Deterministic per shipment, so a repeated createLabel returns the same number. */
export function sandboxTrackingNumber(shipmentId: string): string {
  return "SBX" + createHash("sha256").update(shipmentId).digest("hex").slice(0, 16).toUpperCase();
}

export function createSandboxCarrier(opts: SandboxCarrierOptions): Carrier {
  const scanTime = (parcel: Parcel, step: number) => new Date(parcel.labelCreatedAt.getTime() + (step + 1) * opts.stepMs);
  const where = (parcel: Parcel, w: "origin" | "hub" | "destination") => {
    if (w === "origin") return ORIGIN;
    if (w === "hub") return HUB;
    const d = parcel.destination;
    return [d.city, d.region, d.countryCode].filter((p) => p !== "").join(", ");
  };
  return {
    name: SANDBOX_CARRIER,
    async createLabel(req) {
      return { trackingNumber: sandboxTrackingNumber(req.shipmentId), createdAt: opts.clock() };
    },
    async track(parcel) {
      const now = opts.clock().getTime();
      const scans: TrackingScan[] = [];
      let nextCheckAt: Date | undefined;
      for (const [i, step] of STEPS.entries()) {
        const eventTime = scanTime(parcel, i);
        if (eventTime.getTime() > now) {
          nextCheckAt = eventTime;
          break;
        }
        scans.push({ eventId: `${parcel.trackingNumber}-${i + 1}`, status: step.status, description: step.description, location: where(parcel, step.where), eventTime });
      }
      return { scans, nextCheckAt };
    },
    async cancelLabel() {
      // Sandbox labels cost nothing; there is nothing to void.
    },
  };
}
