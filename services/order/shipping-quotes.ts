// The order service's port to the shipping service's rate tables: the price of sending this
// parcel to this destination at this speed, in the order's currency.
import type { ShippingSpeed } from "../../gen/shop/common/v1/shipping_speed_pb.js";
import { ShippingService } from "../../gen/shop/shipping/v1/shipping_pb.js";
import type { ServiceClient } from "../../platform/grpc/index.js";

export interface QuoteInput {
  readonly countryCode: string;
  readonly region: string;
  readonly postalCode: string;
  readonly weightGrams: number;
  readonly speed: ShippingSpeed;
  readonly currency: string;
}

export interface ShippingQuotes {
  /** The price in minor units, or undefined when the destination is not served at that speed. */
  quote(input: QuoteInput): Promise<bigint | undefined>;
}

export type ShippingClient = ServiceClient<typeof ShippingService>;

export function createGrpcShippingQuotes(client: ShippingClient): ShippingQuotes {
  return {
    async quote(i) {
      const res = await client.quoteShipping({
        countryCode: i.countryCode,
        region: i.region,
        postalCode: i.postalCode,
        totalWeightGrams: i.weightGrams,
        speed: i.speed,
        currencyCode: i.currency,
      });
      // Cheapest first; a price in another currency is no quote for this order.
      const option = res.options.find((o) => o.speed === i.speed && o.price?.currencyCode === i.currency);
      return option?.price?.amountMinor;
    },
  };
}

export { ShippingService };
