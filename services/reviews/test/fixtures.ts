// Small named builders for the reviews tests.
import { randomUUID } from "node:crypto";
import type { Caller } from "../../../platform/grpc/index.js";
import type { ReviewRecord } from "../review-rules.js";

export const NOW = new Date("2026-05-01T12:00:00.000Z");

export const buyer = (subject: string = randomUUID()): Caller => ({ subject, roles: [] });
export const admin = (subject: string = randomUUID()): Caller => ({ subject, roles: ["admin"] });

export function review(overrides: Partial<ReviewRecord> = {}): ReviewRecord {
  return {
    id: randomUUID(),
    productId: randomUUID(),
    userId: randomUUID(),
    authorName: "Verified buyer",
    rating: 4,
    title: "Warm and soft",
    body: "Wore it all winter.",
    status: "published",
    verifiedPurchase: true,
    moderationNote: "",
    createTime: NOW,
    updateTime: NOW,
    ...overrides,
  };
}
