// The reviews service's rules in memory: text normalisation and validation, who may do what,
// rating aggregates, verified purchases from order events, list orders and keyset pages.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { OrderDeliveredSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { ReviewStatus as ProtoStatus } from "../../../gen/shop/reviews/v1/reviews_pb.js";
import { Code, type ShopError } from "../../../platform/errors.js";
import { PoisonEventError } from "../../../platform/events/index.js";
import { decodePageToken, encodePageToken } from "../../../platform/page-token.js";
import { fromProtoStatus, toProtoStatus, toProtoSummary } from "../proto-mapping.js";
import { applyDelta, emptyAggregate, isNoChange, ratingDelta, summarize, type RatingAggregate } from "../rating-summary.js";
import { afterKey, checkKeyFits, pageKeyOf, searchAfterKey, sortDocument, type ReviewSort } from "../review-order.js";
import { authorNameOf, canDelete, canEdit, checkModerationNote, checkReviewInput, edited, isVisibleTo, moderated, normalizeLine, normalizeText, type ReviewRecord } from "../review-rules.js";
import { deliveryOf, grantsReview, voidedOrderOf } from "../verified-purchase.js";
import { admin, buyer, NOW, review } from "./fixtures.js";

const fieldsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    const e = err as ShopError;
    assert.equal(e.code, Code.INVALID_ARGUMENT);
    return e.violations.map((v) => v.field);
  }
  assert.fail("expected INVALID_ARGUMENT");
};

describe("reviews rules", () => {
  describe("text normalisation", () => {
    it("makes a title one clean line: NFC, no controls or invisible characters, spaces folded", () => {
      assert.equal(normalizeLine("  Cafe\u0301\tau   lait \n great\u200B!\u0007 "), "Café au lait great!");
      assert.equal(normalizeLine("\u202Eevil\u202C"), "evil");
      assert.equal(normalizeLine(" \u00A0\u3000 "), "");
    });

    it("keeps paragraphs in a body, at most one empty line between them, each line trimmed", () => {
      assert.equal(normalizeText("  First  line \r\nsecond\n\n\n\n  Third\u0000 para  \n\n"), "First line\nsecond\n\nThird para");
    });
  });

  describe("what a review may say", () => {
    it("stores the normalised text", () => {
      assert.deepEqual(checkReviewInput({ rating: 5, title: "  Great   shirt ", body: "Fits.\n\n\n\nWashes well. " }), { rating: 5, title: "Great shirt", body: "Fits.\n\nWashes well." });
    });

    it("names every bad field at once: a blank title, a rating out of range, a body too long", () => {
      assert.deepEqual(fieldsOf(() => checkReviewInput({ rating: 0, title: " \u200B ", body: "x".repeat(5001) })), ["rating", "title", "body"]);
      assert.deepEqual(fieldsOf(() => checkReviewInput({ rating: 6, title: "ok", body: "" })), ["rating"]);
      assert.deepEqual(fieldsOf(() => checkReviewInput({ rating: 3, title: "é".repeat(151), body: "" })), ["title"]);
    });

    it("counts characters, not UTF-16 units: 150 emoji are a valid title", () => {
      assert.equal([...checkReviewInput({ rating: 3, title: "👍".repeat(150), body: "" }).title].length, 150);
    });

    it("requires a note to reject, not to publish", () => {
      assert.deepEqual(fieldsOf(() => checkModerationNote("rejected", "  ")), ["note"]);
      assert.equal(checkModerationNote("rejected", " Off topic "), "Off topic");
      assert.equal(checkModerationNote("published", ""), "");
    });
  });

  describe("who may do what", () => {
    const author = buyer();
    const r = review({ userId: author.subject });

    it("lets only the author edit, the author or an admin delete", () => {
      assert.equal(canEdit(r, author), true);
      assert.equal(canEdit(r, buyer()), false);
      assert.equal(canEdit(r, admin()), false);
      assert.equal(canDelete(r, author), true);
      assert.equal(canDelete(r, admin()), true);
      assert.equal(canDelete(r, buyer()), false);
    });

    it("shows a rejected review to its author and admins only", () => {
      const rejected = { ...r, status: "rejected" as const };
      assert.equal(isVisibleTo(r, undefined), true);
      assert.equal(isVisibleTo(rejected, undefined), false);
      assert.equal(isVisibleTo(rejected, buyer()), false);
      assert.equal(isVisibleTo(rejected, author), true);
      assert.equal(isVisibleTo(rejected, admin()), true);
    });

    it("shows the token's display name as the author, or a neutral one without it", () => {
      assert.equal(authorNameOf({ ...author, name: "  Ada   Lovelace " }), "Ada Lovelace");
      assert.equal(authorNameOf(author), "Verified buyer");
      assert.equal(authorNameOf({ ...author, name: "\u200B" }), "Verified buyer");
      assert.equal([...authorNameOf({ ...author, name: "😀".repeat(150) })].length, 100);
    });

    it("keeps the moderation status through an author's edit", () => {
      const later = new Date(NOW.getTime() + 1000);
      const e = edited({ ...r, status: "rejected", moderationNote: "spam" }, { rating: 1, title: "t", body: "b" }, later);
      assert.deepEqual([e.status, e.moderationNote, e.rating, e.updateTime, e.createTime], ["rejected", "spam", 1, later, NOW]);
    });

    it("treats a repeated moderation as nothing to do", () => {
      assert.equal(moderated(r, "published", "", NOW), undefined);
      assert.equal(moderated(r, "rejected", "spam", NOW)?.status, "rejected");
    });
  });

  describe("rating aggregates", () => {
    const five = review({ rating: 5 });
    const two = review({ rating: 2 });
    const fold = (...deltas: RatingAggregate[]) => deltas.reduce(applyDelta, emptyAggregate);

    it("counts a new published review, moves an edited rating between buckets, and takes out a deleted one", () => {
      assert.deepEqual(ratingDelta(undefined, five), { count: 1, sum: 5, buckets: [0, 0, 0, 0, 1] });
      assert.deepEqual(ratingDelta(five, { ...five, rating: 3 }), { count: 0, sum: -2, buckets: [0, 0, 1, 0, -1] });
      assert.deepEqual(fold(ratingDelta(undefined, five), ratingDelta(five, undefined)), emptyAggregate);
    });

    it("counts only published reviews: rejecting takes one out, publishing again puts it back", () => {
      const rejected = { ...five, status: "rejected" as const };
      assert.deepEqual(ratingDelta(five, rejected), { count: -1, sum: -5, buckets: [0, 0, 0, 0, -1] });
      assert.equal(isNoChange(ratingDelta(rejected, undefined)), true);
      assert.equal(isNoChange(ratingDelta(rejected, { ...rejected, rating: 1 })), true);
      assert.deepEqual(fold(ratingDelta(undefined, five), ratingDelta(five, rejected), ratingDelta(rejected, five)), { count: 1, sum: 5, buckets: [0, 0, 0, 0, 1] });
    });

    it("summarises as the mean and always five histogram entries; zero without reviews", () => {
      const s = summarize("p", fold(ratingDelta(undefined, five), ratingDelta(undefined, two)));
      assert.deepEqual(s, {
        productId: "p",
        averageRating: 3.5,
        reviewCount: 2,
        histogram: [
          { rating: 1, count: 0 },
          { rating: 2, count: 1 },
          { rating: 3, count: 0 },
          { rating: 4, count: 0 },
          { rating: 5, count: 1 },
        ],
      });
      const none = summarize("p");
      assert.equal(none.averageRating, 0);
      assert.equal(toProtoSummary(none).histogram?.length, 5);
    });
  });

  describe("verified buyers", () => {
    const orderId = randomUUID();
    const userId = randomUUID();
    const p1 = randomUUID();
    const p2 = randomUUID();
    const delivered = (lines: string[]) => create(OrderDeliveredSchema, { orderId, userId, lines: lines.map((productId) => ({ productId, sku: "S", quantity: 1 })) });

    it("learns each product of a delivered order once, ids in one spelling", () => {
      assert.deepEqual(deliveryOf(delivered([p1, p2.toUpperCase(), p1])), { orderId, userId, productIds: [p1, p2] });
    });

    it("sends events it can never use to the dead-letter queue", () => {
      assert.throws(() => deliveryOf(create(OrderDeliveredSchema, { orderId: "x", userId })), PoisonEventError);
      assert.throws(() => deliveryOf(delivered([])), PoisonEventError);
      assert.throws(() => voidedOrderOf({ orderId, userId: "" }), PoisonEventError);
    });

    it("lets a delivered order that was not refunded or cancelled grant a review of its products only", () => {
      const purchase = { orderId, userId, productIds: [p1], deliveredAt: NOW };
      assert.equal(grantsReview(purchase, p1), true);
      assert.equal(grantsReview(purchase, p1.toUpperCase()), true);
      assert.equal(grantsReview(purchase, p2), false);
      assert.equal(grantsReview({ ...purchase, voidedAt: NOW }, p1), false);
      // A refund recorded before its delivery arrived: still void.
      assert.equal(grantsReview({ orderId, userId, productIds: [p1], voidedAt: NOW, deliveredAt: NOW }, p1), false);
      assert.equal(grantsReview({ orderId, userId, productIds: [] }, p1), false);
    });
  });

  describe("list orders and keyset pages", () => {
    // A tiny evaluator of the filters afterKey builds ($or of equalities and $gt/$lt), so
    // paging is checked against a plain sort without a server.
    const value = (r: ReviewRecord, f: string): number | string => (f === "_id" ? r.id : f === "createTime" ? r.createTime.getTime() : (r as unknown as Record<string, number>)[f]!);
    const norm = (v: unknown): number | string => (v instanceof Date ? v.getTime() : (v as number | string));
    const matches = (r: ReviewRecord, filter: Record<string, unknown>): boolean =>
      (filter["$or"] as Record<string, unknown>[]).some((clause) =>
        Object.entries(clause).every(([f, cond]) => {
          if (typeof cond === "object" && cond !== null && !(cond instanceof Date)) {
            const [[op, v]] = Object.entries(cond) as [[string, unknown]];
            return op === "$gt" ? value(r, f) > norm(v) : value(r, f) < norm(v);
          }
          return value(r, f) === norm(cond);
        }),
      );
    const compare = (sort: ReviewSort) => (a: ReviewRecord, b: ReviewRecord) => {
      for (const [f, dir] of Object.entries(sortDocument(sort))) {
        const x = value(a, f);
        const y = value(b, f);
        if (x !== y) return (x < y ? -1 : 1) * dir;
      }
      return 0;
    };
    // Ties on purpose: few ratings, few distinct times.
    const all = Array.from({ length: 40 }, (_, i) => review({ rating: 1 + (i % 5), createTime: new Date(NOW.getTime() + (i % 3) * 1000) }));

    for (const sort of ["newest", "highest", "lowest"] as const) {
      it(`pages through every review exactly once, ${sort} first, through encoded tokens`, () => {
        const sorted = [...all].sort(compare(sort));
        const seen: ReviewRecord[] = [];
        let token = "";
        for (;;) {
          const key = decodePageToken(token);
          const rest = sorted.filter((r) => !key || matches(r, afterKey(sort, checkKeyFits(sort, key))));
          const page = rest.slice(0, 7);
          seen.push(...page);
          if (rest.length <= 7) break;
          token = encodePageToken(pageKeyOf(sort, page[page.length - 1]!));
        }
        assert.deepEqual(seen.map((r) => r.id), sorted.map((r) => r.id));
      });
    }

    it("refuses a token from another order, and search tokens without a score", () => {
      const r = review();
      assert.throws(() => checkKeyFits("highest", pageKeyOf("newest", r)), (e: ShopError) => e.violations[0]?.field === "page_token");
      assert.throws(() => checkKeyFits("newest", pageKeyOf("lowest", r)), (e: ShopError) => e.violations[0]?.field === "page_token");
      assert.throws(() => searchAfterKey({ time: NOW, id: r.id }), (e: ShopError) => e.violations[0]?.field === "page_token");
      assert.ok(searchAfterKey({ rank: 1.25, time: NOW, id: r.id })["$or"]);
    });

    it("round-trips a rank through the platform's page token, and refuses a rank that is not a number", () => {
      const key = { rank: 0.6666666666666666, time: NOW, id: randomUUID() };
      assert.deepEqual(decodePageToken(encodePageToken(key)), key);
      const bad = Buffer.from(JSON.stringify({ t: NOW.toISOString(), i: key.id, r: "1" })).toString("base64url");
      assert.throws(() => decodePageToken(bad), (e: ShopError) => e.violations[0]?.field === "page_token");
    });
  });

  it("maps statuses to the contract and refuses UNSPECIFIED as a moderation outcome", () => {
    assert.equal(toProtoStatus("rejected"), ProtoStatus.REJECTED);
    assert.equal(fromProtoStatus(ProtoStatus.PUBLISHED, "status"), "published");
    assert.deepEqual(fieldsOf(() => fromProtoStatus(ProtoStatus.UNSPECIFIED, "status")), ["status"]);
  });
});
