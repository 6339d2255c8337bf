// The reviews service's MongoDB: every query and index lives here.
//
// Collections:
// - `reviews`: one document per review, `_id` the review id. A unique (productId, userId) index
//   makes "one review per buyer and product" hold even under concurrent creates; a text index
//   over title (weight 3) and body serves SearchReviews; compound indexes serve each list order.
// - `ratings`: one aggregate per product (`_id` the product id), changed by `$inc` in the same
//   transaction as the review it counts (rating-summary.ts).
// - `purchases`: one document per delivered order (`_id` the order id), from order events
//   (verified-purchase.ts), indexed by (userId, productIds).
// - `outbox` and `inbox` (platform/mongo).
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { MongoServerError, type ClientSession, type Collection, type Filter } from "mongodb";
import { enqueueMongoEvent, ensureMongoInbox, ensureMongoOutbox, type Mongo } from "../../platform/mongo/index.js";
import type { PageKey } from "../../platform/page-token.js";
import { emptyAggregate, isNoChange, type Buckets, type RatingAggregate } from "./rating-summary.js";
import { afterKey, searchAfterKey, searchSort, sortDocument, type ReviewSort } from "./review-order.js";
import type { ReviewRecord } from "./review-rules.js";
import type { Delivery, PurchaseRecord } from "./verified-purchase.js";

/** A review as stored: the record, with its id as the document's `_id`. */
type ReviewDoc = Omit<ReviewRecord, "id"> & { _id: string };

interface RatingDoc {
  _id: string;
  count: number;
  sum: number;
  r1: number;
  r2: number;
  r3: number;
  r4: number;
  r5: number;
}

interface PurchaseDoc {
  _id: string;
  userId: string;
  productIds?: string[];
  deliveredAt?: Date;
  voidedAt?: Date;
}

export interface ListQuery {
  readonly productId: string;
  readonly sort: ReviewSort;
  /** Only this many stars; 0 for all. */
  readonly rating: number;
  readonly after: PageKey | undefined;
  readonly limit: number;
}

export interface SearchQuery {
  readonly query: string;
  readonly productId: string | undefined;
  readonly after: PageKey | undefined;
  readonly limit: number;
}

export interface ReviewsStore {
  /** Indexes of every collection; idempotent, run at start-up. */
  prepare(): Promise<void>;
  tx<R>(fn: (s: ClientSession) => Promise<R>): Promise<R>;
  purchasesOf(userId: string, productId: string, s?: ClientSession): Promise<PurchaseRecord[]>;
  /** False when the (product, user) pair already has a review. */
  insertReview(s: ClientSession, review: ReviewRecord): Promise<boolean>;
  findReview(id: string, s?: ClientSession): Promise<ReviewRecord | undefined>;
  findByAuthor(productId: string, userId: string, s?: ClientSession): Promise<ReviewRecord | undefined>;
  replaceReview(s: ClientSession, review: ReviewRecord): Promise<void>;
  deleteReview(s: ClientSession, id: string): Promise<boolean>;
  addToRating(s: ClientSession, productId: string, delta: RatingAggregate): Promise<void>;
  rating(productId: string): Promise<RatingAggregate | undefined>;
  listPublished(q: ListQuery): Promise<ReviewRecord[]>;
  searchPublished(q: SearchQuery): Promise<{ review: ReviewRecord; score: number }[]>;
  recordDelivery(s: ClientSession, d: Delivery, at: Date): Promise<void>;
  recordVoided(s: ClientSession, order: { orderId: string; userId: string }, at: Date): Promise<void>;
  enqueue<D extends DescMessage>(s: ClientSession, schema: D, message: MessageInitShape<D>): Promise<string>;
}

const toRecord = ({ _id, ...rest }: ReviewDoc): ReviewRecord => ({ id: _id, ...rest });

const toDoc = ({ id, ...rest }: ReviewRecord): ReviewDoc => ({ _id: id, ...rest });

const isDuplicateKey = (err: unknown): boolean => err instanceof MongoServerError && err.code === 11000;

/** The text-search language: English stemming ("shirts" finds "shirt"), English stop words. */
const TEXT_LANGUAGE = "english";

export function createReviewsStore(mongo: Mongo): ReviewsStore {
  const reviews: Collection<ReviewDoc> = mongo.db.collection<ReviewDoc>("reviews");
  const ratings: Collection<RatingDoc> = mongo.db.collection<RatingDoc>("ratings");
  const purchases: Collection<PurchaseDoc> = mongo.db.collection<PurchaseDoc>("purchases");
  const session = (s: ClientSession | undefined) => (s ? { session: s } : {});

  return {
    async prepare() {
      await reviews.createIndex({ productId: 1, userId: 1 }, { name: "one_review_per_buyer", unique: true });
      await reviews.createIndex({ productId: 1, status: 1, createTime: -1, _id: 1 }, { name: "by_product_newest" });
      await reviews.createIndex({ productId: 1, status: 1, rating: -1, createTime: -1, _id: 1 }, { name: "by_product_highest" });
      await reviews.createIndex({ productId: 1, status: 1, rating: 1, createTime: -1, _id: 1 }, { name: "by_product_lowest" });
      await reviews.createIndex(
        { title: "text", body: "text" },
        { name: "review_text", weights: { title: 3, body: 1 }, default_language: TEXT_LANGUAGE, language_override: "textLanguage" },
      );
      await purchases.createIndex({ userId: 1, productIds: 1 }, { name: "by_buyer_and_product" });
      await ensureMongoOutbox(mongo);
      await ensureMongoInbox(mongo);
    },

    tx: (fn) => mongo.tx(fn),

    async purchasesOf(userId, productId, s) {
      const docs = await purchases.find({ userId, productIds: productId }, { ...session(s), limit: 100 }).toArray();
      return docs.map((d) => ({
        orderId: d._id,
        userId: d.userId,
        productIds: d.productIds ?? [],
        ...(d.deliveredAt ? { deliveredAt: d.deliveredAt } : {}),
        ...(d.voidedAt ? { voidedAt: d.voidedAt } : {}),
      }));
    },

    async insertReview(s, review) {
      try {
        await reviews.insertOne(toDoc(review), { session: s });
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    },

    async findReview(id, s) {
      const d = await reviews.findOne({ _id: id }, session(s));
      return d ? toRecord(d) : undefined;
    },

    async findByAuthor(productId, userId, s) {
      const d = await reviews.findOne({ productId, userId }, session(s));
      return d ? toRecord(d) : undefined;
    },

    async replaceReview(s, review) {
      await reviews.replaceOne({ _id: review.id }, toDoc(review), { session: s });
    },

    async deleteReview(s, id) {
      const r = await reviews.deleteOne({ _id: id }, { session: s });
      return r.deletedCount === 1;
    },

    async addToRating(s, productId, d) {
      if (isNoChange(d)) return;
      const [r1, r2, r3, r4, r5] = d.buckets;
      await ratings.updateOne({ _id: productId }, { $inc: { count: d.count, sum: d.sum, r1, r2, r3, r4, r5 } }, { upsert: true, session: s });
    },

    async rating(productId) {
      const d = await ratings.findOne({ _id: productId });
      if (!d) return undefined;
      const buckets: Buckets = [d.r1 ?? 0, d.r2 ?? 0, d.r3 ?? 0, d.r4 ?? 0, d.r5 ?? 0];
      return { ...emptyAggregate, count: d.count, sum: d.sum, buckets };
    },

    async listPublished(q) {
      const filter: Filter<ReviewDoc> = { productId: q.productId, status: "published", ...(q.rating > 0 ? { rating: q.rating } : {}) };
      const page = q.after ? { $and: [filter, afterKey(q.sort, q.after)] } : filter;
      const docs = await reviews.find(page as Filter<ReviewDoc>, { sort: sortDocument(q.sort), limit: q.limit }).toArray();
      return docs.map(toRecord);
    },

    async searchPublished(q) {
      const docs = await reviews
        .aggregate<ReviewDoc & { score: number }>([
          { $match: { $text: { $search: q.query, $language: TEXT_LANGUAGE }, status: "published", ...(q.productId ? { productId: q.productId } : {}) } },
          { $addFields: { score: { $meta: "textScore" } } },
          ...(q.after ? [{ $match: searchAfterKey(q.after) }] : []),
          { $sort: searchSort },
          { $limit: q.limit },
        ])
        .toArray();
      return docs.map(({ score, ...d }) => ({ review: toRecord(d), score }));
    },

    async recordDelivery(s, d, at) {
      await purchases.updateOne(
        { _id: d.orderId },
        { $set: { userId: d.userId, productIds: [...d.productIds] }, $min: { deliveredAt: at } },
        { upsert: true, session: s },
      );
    },

    async recordVoided(s, order, at) {
      await purchases.updateOne({ _id: order.orderId }, { $setOnInsert: { userId: order.userId }, $min: { voidedAt: at } }, { upsert: true, session: s });
    },

    enqueue: (s, schema, message) => enqueueMongoEvent(mongo, s, schema, message),
  };
}
