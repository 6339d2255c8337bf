// Amounts as the contracts carry them: integer minor units plus an ISO 4217 code, never floats.
// Every service that prices, charges, discounts or prints money uses these, so rounding and
// formatting exist once. Decimal strings are built from the integer's digits, never via a float.

export interface Money {
  readonly amountMinor: bigint;
  /** ISO 4217, e.g. "USD". */
  readonly currency: string;
}

/** The contract's shape (`shop.common.v1.Money`): the field is named `currency_code` there. */
export interface ProtoMoney {
  readonly amountMinor: bigint;
  readonly currencyCode: string;
}

/** The largest amount an int64 field can carry. */
export const MAX_MINOR = 2n ** 63n - 1n;

export const money = (amountMinor: bigint, currency: string): Money => ({ amountMinor, currency });

export function times(price: Money, quantity: number): Money {
  return { amountMinor: price.amountMinor * BigInt(quantity), currency: price.currency };
}

export function sameMoney(a: Money, b: Money): boolean {
  return a.amountMinor === b.amountMinor && a.currency === b.currency;
}

export function toProtoMoney(m: Money): ProtoMoney;
export function toProtoMoney(m: Money | undefined): ProtoMoney | undefined;
export function toProtoMoney(m: Money | undefined): ProtoMoney | undefined {
  return m ? { amountMinor: m.amountMinor, currencyCode: m.currency } : undefined;
}

/** From a peer's Money; undefined when the peer sent none. */
export function fromProtoMoney(m: ProtoMoney | undefined): Money | undefined {
  return m ? { amountMinor: m.amountMinor, currency: m.currencyCode } : undefined;
}

const digitsCache = new Map<string, number>();

/** Minor-unit digits of a currency (2 for USD, 0 for JPY, 3 for KWD), from the runtime's ICU data. */
export function minorDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2; // not a code ICU knows; contracts validate the pattern only
    }
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** "-12.50" for -1250 minor units of a two-digit currency; "500" for 500 JPY. */
export function decimalString(m: Money): `${number}` {
  const digits = minorDigits(m.currency);
  const negative = m.amountMinor < 0n;
  const raw = (negative ? -m.amountMinor : m.amountMinor).toString().padStart(digits + 1, "0");
  const whole = raw.slice(0, raw.length - digits);
  const fraction = digits > 0 ? `.${raw.slice(raw.length - digits)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}` as `${number}`;
}

/** "USD 19.99": unambiguous, for error and warning messages. */
export function formatMoney(m: Money): string {
  return `${m.currency} ${decimalString(m)}`;
}

/** "$19.99", "€5.00", "¥500" for people (emails); "XTS 19.99" for a code the runtime does not know. */
export function formatMoneyForPeople(m: Money, locale = "en-US"): string {
  const decimal = decimalString(m);
  try {
    // A string keeps every digit: Intl formats it without going through a float.
    return new Intl.NumberFormat(locale, { style: "currency", currency: m.currency }).format(decimal);
  } catch {
    return `${m.currency} ${decimal}`;
  }
}
