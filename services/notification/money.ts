// Amounts as the contracts carry them (integer minor units plus an ISO 4217 code), formatted
// for people. Exact: the decimal string is built from the integer's digits, never via a float.

export interface Money {
  readonly amountMinor: bigint;
  /** ISO 4217, e.g. "USD". */
  readonly currency: string;
}

const digitsCache = new Map<string, number>();

/** Minor-unit digits of a currency (2 for USD, 0 for JPY, 3 for KWD), from the runtime's ICU data. */
function minorDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2; // not a code ICU knows
    }
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** "-12.50" for -1250 minor units of a two-digit currency. */
export function decimalString(m: Money): `${number}` {
  const digits = minorDigits(m.currency);
  const negative = m.amountMinor < 0n;
  const raw = (negative ? -m.amountMinor : m.amountMinor).toString().padStart(digits + 1, "0");
  const whole = raw.slice(0, raw.length - digits);
  const fraction = digits > 0 ? `.${raw.slice(raw.length - digits)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}` as `${number}`;
}

/** "$19.99", "€5.00", "¥500"; "XTS 19.99" for a code the runtime does not know. */
export function formatMoney(m: Money, locale = "en-US"): string {
  const decimal = decimalString(m);
  try {
    // A string keeps every digit: Intl formats it without going through a float.
    return new Intl.NumberFormat(locale, { style: "currency", currency: m.currency }).format(decimal);
  } catch {
    return `${m.currency} ${decimal}`;
  }
}
