// Amounts in integer minor units, as the contracts carry them; never floats.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { MoneySchema } from "../../gen/shop/common/v1/money_pb.js";

export interface Money {
  readonly amountMinor: bigint;
  /** ISO 4217, e.g. "USD". */
  readonly currency: string;
}

export const money = (amountMinor: bigint, currency: string): Money => ({ amountMinor, currency });

export function toProtoMoney(m: Money): MessageInitShape<typeof MoneySchema> {
  return { amountMinor: m.amountMinor, currencyCode: m.currency };
}

/** From a peer's Money; undefined when the peer sent none. */
export function fromProtoMoney(m: { amountMinor: bigint; currencyCode: string } | undefined): Money | undefined {
  return m ? { amountMinor: m.amountMinor, currency: m.currencyCode } : undefined;
}
