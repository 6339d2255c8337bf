// The orders reviews are listed in, and keyset pagination over each, with the platform's page
// tokens (platform/page-token.ts): the key of the last review returned is (rank, time, id),
// rank being the rating when the order sorts by it, or the text-search score. Plain data in and
// out (MongoDB sort and filter documents), so the rules are tested without a server.
import { fieldError } from "../../platform/errors.js";
import type { PageKey } from "../../platform/page-token.js";
import type { ReviewRecord } from "./review-rules.js";

export type ReviewSort = "newest" | "highest" | "lowest";

type Dir = 1 | -1;

/** Fields in sort order with their directions; `_id` last breaks ties, so the order is total. */
function keys(sort: ReviewSort): readonly (readonly [string, Dir])[] {
  switch (sort) {
    case "newest":
      return [["createTime", -1], ["_id", 1]];
    case "highest":
      return [["rating", -1], ["createTime", -1], ["_id", 1]];
    case "lowest":
      return [["rating", 1], ["createTime", -1], ["_id", 1]];
  }
}

export function sortDocument(sort: ReviewSort): Record<string, Dir> {
  return Object.fromEntries(keys(sort));
}

const usesRank = (sort: ReviewSort): boolean => sort !== "newest";

/** The page key of `review`, last on a page sorted by `sort`. */
export function pageKeyOf(sort: ReviewSort, review: ReviewRecord): PageKey {
  return usesRank(sort) ? { rank: review.rating, time: review.createTime, id: review.id } : { time: review.createTime, id: review.id };
}

/** A token from another order (or another list) does not fit this one. */
export function checkKeyFits(sort: ReviewSort, key: PageKey): PageKey {
  if (usesRank(sort) !== (key.rank !== undefined)) throw fieldError("page_token", "not a page token from this list");
  return key;
}

/**
 * "Strictly after `values` in this order": for keys k1..kn,
 * k1 beyond v1, or k1 = v1 and k2 beyond v2, ... (the standard keyset expansion).
 */
function after(ks: readonly (readonly [string, Dir])[], values: readonly unknown[]): Record<string, unknown> {
  const or = ks.map(([field, dir], i) => {
    const eq = Object.fromEntries(ks.slice(0, i).map(([f], j) => [f, values[j]]));
    return { ...eq, [field]: { [dir === 1 ? "$gt" : "$lt"]: values[i] } };
  });
  return { $or: or };
}

/** The filter selecting reviews after `key` in `sort` order. */
export function afterKey(sort: ReviewSort, key: PageKey): Record<string, unknown> {
  const values = usesRank(sort) ? [key.rank, key.time, key.id] : [key.time, key.id];
  return after(keys(sort), values);
}

/** Search results: best score first, then newest, then id; `score` is the text-search score. */
export const searchSort = { score: -1, createTime: -1, _id: 1 } as const;

export function searchAfterKey(key: PageKey): Record<string, unknown> {
  if (key.rank === undefined) throw fieldError("page_token", "not a page token from this list");
  return after([["score", -1], ["createTime", -1], ["_id", 1]], [key.rank, key.time, key.id]);
}
