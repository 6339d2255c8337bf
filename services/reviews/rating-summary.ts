// A product's rating aggregate, kept incrementally: every change to a review (created, edited,
// moderated, deleted) applies the difference between what it counted for before and after, in
// the same transaction as the change, so the aggregate is always the sum over the product's
// published reviews and reading it costs one document whatever the number of reviews.
import type { ReviewRecord } from "./review-rules.js";

/** Stars 1..5 at index 0..4. */
export type Buckets = readonly [number, number, number, number, number];

export interface RatingAggregate {
  readonly count: number;
  readonly sum: number;
  readonly buckets: Buckets;
}

export interface RatingSummary {
  readonly productId: string;
  readonly averageRating: number;
  readonly reviewCount: number;
  readonly histogram: readonly { readonly rating: number; readonly count: number }[];
}

export const emptyAggregate: RatingAggregate = { count: 0, sum: 0, buckets: [0, 0, 0, 0, 0] };

type Counted = Pick<ReviewRecord, "rating" | "status"> | undefined;

function contribution(r: Counted): RatingAggregate {
  if (!r || r.status !== "published") return emptyAggregate;
  const buckets: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  buckets[r.rating - 1] = 1;
  return { count: 1, sum: r.rating, buckets };
}

/** What a change from `before` to `after` (undefined: absent) adds to the aggregate. */
export function ratingDelta(before: Counted, after: Counted): RatingAggregate {
  const a = contribution(before);
  const b = contribution(after);
  return {
    count: b.count - a.count,
    sum: b.sum - a.sum,
    buckets: b.buckets.map((n, i) => n - a.buckets[i]!) as unknown as Buckets,
  };
}

export const isNoChange = (d: RatingAggregate): boolean => d.count === 0 && d.sum === 0 && d.buckets.every((n) => n === 0);

export function applyDelta(agg: RatingAggregate, d: RatingAggregate): RatingAggregate {
  return { count: agg.count + d.count, sum: agg.sum + d.sum, buckets: agg.buckets.map((n, i) => n + d.buckets[i]!) as unknown as Buckets };
}

/** The contract's summary: mean (0 without reviews) and always five histogram entries. */
export function summarize(productId: string, agg: RatingAggregate = emptyAggregate): RatingSummary {
  return {
    productId,
    averageRating: agg.count > 0 ? agg.sum / agg.count : 0,
    reviewCount: agg.count,
    histogram: agg.buckets.map((count, i) => ({ rating: i + 1, count })),
  };
}
