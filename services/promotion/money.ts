// Amounts in integer minor units, as the contracts carry them; never floats. Discounts are
// computed on bigint and rounded by the explicit rules in allocation.ts.

export interface Money {
  readonly amountMinor: bigint;
  /** ISO 4217, e.g. "USD". */
  readonly currency: string;
}

/** The largest amount an int64 field can carry. */
export const MAX_MINOR = 2n ** 63n - 1n;

const digitsCache = new Map<string, number>();

/** Minor-unit digits of a currency (2 for USD, 0 for JPY, 3 for KWD), from the runtime's ICU data. */
function minorDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2; // not a code ICU knows; the contract validated the pattern only
    }
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** "USD 19.99", for shoppers' messages. Exact: the decimal point is placed in the integer's digits. */
export function formatMoney(m: Money): string {
  const digits = minorDigits(m.currency);
  const negative = m.amountMinor < 0n;
  const raw = (negative ? -m.amountMinor : m.amountMinor).toString().padStart(digits + 1, "0");
  const whole = raw.slice(0, raw.length - digits);
  const fraction = digits > 0 ? `.${raw.slice(raw.length - digits)}` : "";
  return `${m.currency} ${negative ? "-" : ""}${whole}${fraction}`;
}
