// ReviewsService's gRPC handlers: requests mapped to the operations in reviews.ts and the
// results to the contract. Access levels (USER, PUBLIC, ADMIN) are enforced by the platform from
// the contract before these run; authorship is checked in reviews.ts.
import { ReviewsService } from "../../gen/shop/reviews/v1/reviews_pb.js";
import { requireCaller, type ServiceImpl } from "../../platform/grpc/index.js";
import { decodePageToken, encodePageToken, pageSize } from "../../platform/page-token.js";
import { fromProtoSort, fromProtoStatus, toProtoReview, toProtoSummary } from "./proto-mapping.js";
import type { Reviews } from "./reviews.js";

export { ReviewsService };

const token = (key: Parameters<typeof encodePageToken>[0] | undefined): string => (key ? encodePageToken(key) : "");
// Ids are UUIDs (checked by the contract's rules); one spelling, so an upper-case id finds the same review.
const id = (s: string): string => s.toLowerCase();

export function createReviewsService({ reviews }: { reviews: Reviews }): ServiceImpl<typeof ReviewsService> {
  return {
    createReview: async (req, ctx) => ({
      review: toProtoReview(await reviews.create(requireCaller(ctx), id(req.productId), { rating: req.rating, title: req.title, body: req.body })),
    }),

    updateReview: async (req, ctx) => ({
      review: toProtoReview(await reviews.update(requireCaller(ctx), id(req.reviewId), { rating: req.rating, title: req.title, body: req.body })),
    }),

    deleteReview: async (req, ctx) => {
      await reviews.remove(requireCaller(ctx), id(req.reviewId));
      return {};
    },

    getReview: async (req, ctx) => ({ review: toProtoReview(await reviews.get(ctx.caller, id(req.reviewId))) }),

    listProductReviews: async (req) => {
      const p = await reviews.list({
        productId: id(req.productId),
        sort: fromProtoSort(req.sort),
        rating: req.rating,
        after: decodePageToken(req.pageToken),
        pageSize: pageSize(req.pageSize),
      });
      return { reviews: p.items.map(toProtoReview), nextPageToken: token(p.next) };
    },

    getRatingSummary: async (req) => ({ summary: toProtoSummary(await reviews.summary(id(req.productId))) }),

    searchReviews: async (req) => {
      const p = await reviews.search({
        query: req.query,
        productId: req.productId ? id(req.productId) : undefined,
        after: decodePageToken(req.pageToken),
        pageSize: pageSize(req.pageSize),
      });
      return { reviews: p.items.map(toProtoReview), nextPageToken: token(p.next) };
    },

    moderateReview: async (req) => ({ review: toProtoReview(await reviews.moderate(id(req.reviewId), fromProtoStatus(req.status, "status"), req.note)) }),
  };
}
