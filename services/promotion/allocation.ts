// The two rounding rules every discount goes through, on bigint minor units:
//
// - a percentage of an amount is rounded down to the minor unit (the contract says so: the
//   shopper never gets a fraction of a cent the shop then has to find somewhere);
// - a fixed amount spread over lines is split in proportion to the lines' amounts, each share
//   rounded down, and the units lost to rounding go one each to the largest lines (ties to the
//   earlier line), so the shares always add up to exactly the amount and no line gets more than
//   it is worth.

/** `bps` basis points (10000 = 100%) of a non-negative `amount`, rounded down. */
export function percentOf(amount: bigint, bps: number): bigint {
  if (amount < 0n) throw new RangeError("percentOf: negative amount");
  if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) throw new RangeError(`percentOf: bps out of range: ${bps}`);
  return (amount * BigInt(bps)) / 10_000n;
}

/**
 * Splits `amount` over lines worth `weights` (non-negative), at most their sum: the result
 * has one share per weight, each share <= its weight, and the shares add up to
 * min(amount, sum of weights) exactly.
 */
export function allocateProportionally(amount: bigint, weights: readonly bigint[]): bigint[] {
  if (amount < 0n) throw new RangeError("allocateProportionally: negative amount");
  if (weights.some((w) => w < 0n)) throw new RangeError("allocateProportionally: negative weight");
  const total = weights.reduce((s, w) => s + w, 0n);
  const target = amount < total ? amount : total;
  if (target === 0n) return weights.map(() => 0n);
  const shares = weights.map((w) => (target * w) / total);
  let remainder = target - shares.reduce((s, x) => s + x, 0n);
  // Fewer units are left over than there are lines with a positive weight (each loses less
  // than one unit to rounding), and a line whose share was rounded down has room for one more.
  const largestFirst = weights
    .map((w, i) => ({ w, i }))
    .filter(({ w }) => w > 0n)
    .sort((a, b) => (a.w === b.w ? a.i - b.i : a.w > b.w ? -1 : 1));
  for (const { i } of largestFirst) {
    if (remainder === 0n) break;
    shares[i] = shares[i]! + 1n;
    remainder -= 1n;
  }
  return shares;
}
