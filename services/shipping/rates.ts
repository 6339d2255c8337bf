// Shipping prices as plain functions over a rate table: which zone a destination is in, which
// speeds that zone offers, and the price of the parcel's weight bracket. Deterministic: the same
// table, request and clock give the same options, in minor units, never floats. The table comes
// from the database (migrations/001_rates.sql seeds the default); tests hand one in directly.
import { fieldError } from "../../platform/errors.js";
import { checkCountryCode, isCountryCode } from "./countries.js";

export const SPEEDS = ["standard", "express", "overnight"] as const;
export type Speed = (typeof SPEEDS)[number];

/** The country code of the rest of the world. */
export const ANY_COUNTRY = "*";

export interface ZoneDestination {
  /** ISO 3166-1 alpha-2, or ANY_COUNTRY. */
  readonly country: string;
  /** Upper case; "" for the whole country. */
  readonly region: string;
  readonly zone: string;
}

export interface ZoneService {
  readonly zone: string;
  readonly speed: Speed;
  readonly carrier: string;
  readonly minTransitDays: number;
  readonly maxTransitDays: number;
}

export interface RateBracket {
  readonly zone: string;
  readonly speed: Speed;
  readonly currency: string;
  /** The heaviest parcel this price covers. */
  readonly maxWeightGrams: number;
  readonly priceMinor: bigint;
}

export interface RateTable {
  readonly destinations: readonly ZoneDestination[];
  readonly services: readonly ZoneService[];
  readonly brackets: readonly RateBracket[];
}

export interface Destination {
  readonly country: string;
  /** As the customer wrote it; compared upper case and trimmed. */
  readonly region: string;
}

export interface QuoteRequest extends Destination {
  readonly weightGrams: number;
  /** Undefined quotes every speed the zone offers. */
  readonly speed: Speed | undefined;
  readonly currency: string;
}

export interface ShippingOption {
  readonly speed: Speed;
  readonly carrier: string;
  readonly priceMinor: bigint;
  readonly currency: string;
  readonly minTransitDays: number;
  readonly maxTransitDays: number;
  /** Latest expected delivery if shipped at the quote's time. */
  readonly estimatedDelivery: Date;
}

export const normalizeRegion = (region: string): string => region.trim().toUpperCase();

/**
 * The zone serving `dest`, or undefined if the table serves no such destination. A code that is
 * no country at all is INVALID_ARGUMENT naming `field`.
 */
export function zoneOf(table: RateTable, dest: Destination, field = "country_code"): string | undefined {
  checkCountryCode(dest.country, field);
  const region = normalizeRegion(dest.region);
  const find = (country: string, r: string) => table.destinations.find((d) => d.country === country && d.region === r)?.zone;
  return (region === "" ? undefined : find(dest.country, region)) ?? find(dest.country, "") ?? find(ANY_COUNTRY, "");
}

/** The currencies the table has prices in, sorted. */
export function currenciesOf(table: RateTable): string[] {
  return [...new Set(table.brackets.map((b) => b.currency))].sort();
}

/**
 * Every way to ship the parcel (or only the requested speed), cheapest first; empty when the
 * destination is not served or the parcel is heavier than every bracket. A currency the table has
 * no prices in, a non-country or a weight below one gram is INVALID_ARGUMENT naming the field.
 */
export function quote(table: RateTable, req: QuoteRequest, now: Date): ShippingOption[] {
  if (!Number.isInteger(req.weightGrams) || req.weightGrams < 1) {
    throw fieldError("total_weight_grams", "must be a whole number of grams, at least 1");
  }
  const currencies = currenciesOf(table);
  if (!currencies.includes(req.currency)) {
    throw fieldError("currency_code", `no shipping rates in ${req.currency}; rates exist in ${currencies.join(", ") || "no currency"}`);
  }
  const zone = zoneOf(table, req);
  if (zone === undefined) return [];
  const options: ShippingOption[] = [];
  for (const service of table.services) {
    if (service.zone !== zone || (req.speed !== undefined && service.speed !== req.speed)) continue;
    const bracket = lightestBracket(table, service, req.currency, req.weightGrams);
    if (!bracket) continue;
    options.push({
      speed: service.speed,
      carrier: service.carrier,
      priceMinor: bracket.priceMinor,
      currency: req.currency,
      minTransitDays: service.minTransitDays,
      maxTransitDays: service.maxTransitDays,
      estimatedDelivery: addBusinessDays(now, service.maxTransitDays),
    });
  }
  const rank = (s: Speed) => SPEEDS.indexOf(s);
  return options.sort((a, b) => (a.priceMinor === b.priceMinor ? rank(a.speed) - rank(b.speed) : a.priceMinor < b.priceMinor ? -1 : 1));
}

function lightestBracket(table: RateTable, service: ZoneService, currency: string, weightGrams: number): RateBracket | undefined {
  let best: RateBracket | undefined;
  for (const b of table.brackets) {
    if (b.zone !== service.zone || b.speed !== service.speed || b.currency !== currency || b.maxWeightGrams < weightGrams) continue;
    if (!best || b.maxWeightGrams < best.maxWeightGrams) best = b;
  }
  return best;
}

/** The zone's service for `speed` at `dest` (carrier, transit days); undefined if not offered or no country. */
export function serviceFor(table: RateTable, dest: Destination, speed: Speed): ZoneService | undefined {
  const zone = isCountryCode(dest.country) ? zoneOf(table, dest) : undefined;
  return zone === undefined ? undefined : table.services.find((s) => s.zone === zone && s.speed === speed);
}

const DAY_MS = 86_400_000;

/** `from` plus `days` business days (Saturdays and Sundays skipped, in UTC), same time of day. */
export function addBusinessDays(from: Date, days: number): Date {
  let t = from.getTime();
  let left = days;
  while (left > 0) {
    t += DAY_MS;
    const weekday = new Date(t).getUTCDay();
    if (weekday !== 0 && weekday !== 6) left--;
  }
  return new Date(t);
}
