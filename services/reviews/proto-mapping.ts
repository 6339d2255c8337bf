// Between the domain's records and the contract's messages.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ReviewSort as ProtoSort, ReviewStatus as ProtoStatus, type RatingSummarySchema, type ReviewSchema } from "../../gen/shop/reviews/v1/reviews_pb.js";
import { fieldError } from "../../platform/errors.js";
import type { RatingSummary } from "./rating-summary.js";
import type { ReviewSort } from "./review-order.js";
import type { ReviewRecord, ReviewStatus } from "./review-rules.js";

export function toProtoStatus(s: ReviewStatus): ProtoStatus {
  return s === "published" ? ProtoStatus.PUBLISHED : ProtoStatus.REJECTED;
}

export function fromProtoStatus(s: ProtoStatus, field: string): ReviewStatus {
  if (s === ProtoStatus.PUBLISHED) return "published";
  if (s === ProtoStatus.REJECTED) return "rejected";
  throw fieldError(field, "must be PUBLISHED or REJECTED");
}

export function fromProtoSort(s: ProtoSort): ReviewSort {
  switch (s) {
    case ProtoSort.HIGHEST_RATING:
      return "highest";
    case ProtoSort.LOWEST_RATING:
      return "lowest";
    default:
      return "newest";
  }
}

export function toProtoReview(r: ReviewRecord): MessageInitShape<typeof ReviewSchema> {
  return {
    id: r.id,
    productId: r.productId,
    userId: r.userId,
    authorName: r.authorName,
    rating: r.rating,
    title: r.title,
    body: r.body,
    status: toProtoStatus(r.status),
    verifiedPurchase: r.verifiedPurchase,
    moderationNote: r.moderationNote,
    createTime: timestampFromDate(r.createTime),
    updateTime: timestampFromDate(r.updateTime),
  };
}

export function toProtoSummary(s: RatingSummary): MessageInitShape<typeof RatingSummarySchema> {
  return {
    productId: s.productId,
    averageRating: s.averageRating,
    reviewCount: BigInt(s.reviewCount),
    histogram: s.histogram.map((h) => ({ rating: h.rating, count: BigInt(h.count) })),
  };
}
