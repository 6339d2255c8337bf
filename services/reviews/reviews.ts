// The reviews service's operations: each change runs in one MongoDB transaction that also
// updates the product's rating aggregate and writes the event to the outbox, so the review, the
// aggregate and the event commit together or not at all.
import { randomUUID } from "node:crypto";
import { ReviewCreatedSchema, ReviewDeletedSchema, ReviewUpdatedSchema } from "../../gen/shop/reviews/v1/events_pb.js";
import { alreadyExists, failedPrecondition, fieldError, notFound, permissionDenied } from "../../platform/errors.js";
import type { Caller } from "../../platform/grpc/index.js";
import type { PageKey } from "../../platform/page-token.js";
import { toProtoStatus } from "./proto-mapping.js";
import { ratingDelta, summarize, type RatingSummary } from "./rating-summary.js";
import { checkKeyFits, pageKeyOf, type ReviewSort } from "./review-order.js";
import { canDelete, canEdit, checkModerationNote, checkReviewInput, edited, authorNameOf, isVisibleTo, moderated, normalizeLine, type ReviewInput, type ReviewRecord, type ReviewStatus } from "./review-rules.js";
import type { ReviewsStore } from "./store.js";
import { grantsReview, NOT_A_BUYER } from "./verified-purchase.js";

export interface ReviewsDeps {
  readonly store: ReviewsStore;
  readonly clock?: () => Date;
  /** The author name shown on a new review. */
  readonly authorName?: (caller: Caller) => string;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly next: PageKey | undefined;
}

export interface Reviews {
  create(caller: Caller, productId: string, input: ReviewInput): Promise<ReviewRecord>;
  update(caller: Caller, reviewId: string, input: ReviewInput): Promise<ReviewRecord>;
  remove(caller: Caller, reviewId: string): Promise<void>;
  moderate(reviewId: string, status: ReviewStatus, note: string): Promise<ReviewRecord>;
  get(caller: Caller | undefined, reviewId: string): Promise<ReviewRecord>;
  list(q: { productId: string; sort: ReviewSort; rating: number; after: PageKey | undefined; pageSize: number }): Promise<Page<ReviewRecord>>;
  search(q: { query: string; productId: string | undefined; after: PageKey | undefined; pageSize: number }): Promise<Page<ReviewRecord>>;
  summary(productId: string): Promise<RatingSummary>;
}


export function createReviews(deps: ReviewsDeps): Reviews {
  const { store } = deps;
  const clock = deps.clock ?? (() => new Date());
  const authorName = deps.authorName ?? authorNameOf;

  const updatedEvent = (before: ReviewRecord, after: ReviewRecord) => ({
    reviewId: after.id,
    productId: after.productId,
    userId: after.userId,
    rating: after.rating,
    oldRating: before.rating,
    status: toProtoStatus(after.status),
  });

  /** A page of `limit` items plus one: the extra one only tells that there is a next page. */
  function page<T>(rows: readonly T[], limit: number, keyOf: (row: T) => PageKey): Page<T> {
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items, next: rows.length > limit && last !== undefined ? keyOf(last) : undefined };
  }

  return {
    async create(caller, productId, raw) {
      const input = checkReviewInput(raw);
      const userId = caller.subject;
      return store.tx(async (s) => {
        const bought = (await store.purchasesOf(userId, productId, s)).some((p) => grantsReview(p, productId));
        if (!bought) throw failedPrecondition(NOT_A_BUYER);
        const existing = await store.findByAuthor(productId, userId, s);
        if (existing) throw alreadyExists(`you already reviewed this product (review ${existing.id}); edit that review instead`);
        const now = clock();
        const review: ReviewRecord = {
          id: randomUUID(),
          productId,
          userId,
          authorName: authorName(caller),
          ...input,
          status: "published",
          verifiedPurchase: true,
          moderationNote: "",
          createTime: now,
          updateTime: now,
        };
        // A concurrent create by the same buyer loses on the unique index.
        if (!(await store.insertReview(s, review))) throw alreadyExists("you already reviewed this product; edit that review instead");
        await store.addToRating(s, productId, ratingDelta(undefined, review));
        await store.enqueue(s, ReviewCreatedSchema, { reviewId: review.id, productId, userId, rating: review.rating });
        return review;
      });
    },

    async update(caller, reviewId, raw) {
      const input = checkReviewInput(raw);
      return store.tx(async (s) => {
        const before = await store.findReview(reviewId, s);
        if (!before) throw notFound("review", reviewId);
        if (!canEdit(before, caller)) throw permissionDenied("only the author may edit a review");
        const after = edited(before, input, clock());
        await store.replaceReview(s, after);
        await store.addToRating(s, after.productId, ratingDelta(before, after));
        await store.enqueue(s, ReviewUpdatedSchema, updatedEvent(before, after));
        return after;
      });
    },

    async remove(caller, reviewId) {
      await store.tx(async (s) => {
        const review = await store.findReview(reviewId, s);
        if (!review) throw notFound("review", reviewId);
        if (!canDelete(review, caller)) throw permissionDenied("only the author or an admin may delete a review");
        if (!(await store.deleteReview(s, reviewId))) throw notFound("review", reviewId);
        await store.addToRating(s, review.productId, ratingDelta(review, undefined));
        await store.enqueue(s, ReviewDeletedSchema, {
          reviewId,
          productId: review.productId,
          userId: review.userId,
          rating: review.rating,
          status: toProtoStatus(review.status),
        });
      });
    },

    async moderate(reviewId, status, rawNote) {
      const note = checkModerationNote(status, rawNote);
      return store.tx(async (s) => {
        const before = await store.findReview(reviewId, s);
        if (!before) throw notFound("review", reviewId);
        const after = moderated(before, status, note, clock());
        if (!after) return before; // a repeat: nothing changes, nothing is emitted
        await store.replaceReview(s, after);
        await store.addToRating(s, after.productId, ratingDelta(before, after));
        await store.enqueue(s, ReviewUpdatedSchema, updatedEvent(before, after));
        return after;
      });
    },

    async get(caller, reviewId) {
      const review = await store.findReview(reviewId);
      // A rejected review is not found for others: its existence is not theirs to know.
      if (!review || !isVisibleTo(review, caller)) throw notFound("review", reviewId);
      return review;
    },

    async list(q) {
      const after = q.after ? checkKeyFits(q.sort, q.after) : undefined;
      const rows = await store.listPublished({ productId: q.productId, sort: q.sort, rating: q.rating, after, limit: q.pageSize + 1 });
      return page(rows, q.pageSize, (r) => pageKeyOf(q.sort, r));
    },

    async search(q) {
      const query = normalizeLine(q.query);
      if (query === "") throw fieldError("query", "must have visible characters");
      const rows = await store.searchPublished({ query, productId: q.productId, after: q.after, limit: q.pageSize + 1 });
      const p = page(rows, q.pageSize, (r) => ({ rank: r.score, time: r.review.createTime, id: r.review.id }));
      return { items: p.items.map((r) => r.review), next: p.next };
    },

    summary: async (productId) => summarize(productId, await store.rating(productId)),
  };
}
