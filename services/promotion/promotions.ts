// The admin's operations on promotions: create, change, read, list, delete. Rules for a
// complete promotion are in promotion.ts; every write checks the whole promotion it leaves.
import { notFound } from "../../platform/errors.js";
import { decodePageToken, encodePageToken, pageSize } from "./page-token.js";
import { checkDraft, type Promotion, type PromotionDraft } from "./promotion.js";
import type { PromotionStore } from "./store.js";

export interface PromotionsDeps {
  readonly store: PromotionStore;
  readonly clock: () => Date;
}

export interface PromotionPage {
  readonly promotions: readonly Promotion[];
  readonly nextPageToken: string;
}

export type Promotions = ReturnType<typeof createPromotions>;

export function createPromotions({ store, clock }: PromotionsDeps) {
  return {
    /** ALREADY_EXISTS if the coupon code is taken (in any case). */
    async create(draft: PromotionDraft): Promise<Promotion> {
      checkDraft(draft);
      return store.insertPromotion(store.db, draft, clock());
    },

    /** `change` turns the stored promotion into the new draft, under the promotion's row lock. */
    async update(id: string, change: (current: Promotion) => PromotionDraft): Promise<Promotion> {
      return store.tx(async (q) => {
        const current = await store.promotionById(q, id, { lock: true });
        if (!current) throw notFound("promotion", id);
        const draft = change(current);
        checkDraft(draft);
        return (await store.updatePromotion(q, id, draft, clock()))!;
      });
    },

    async get(id: string): Promise<Promotion> {
      const found = await store.promotionById(store.db, id);
      if (!found) throw notFound("promotion", id);
      return found;
    },

    async list(req: { pageSize: number; pageToken: string; activeOnly: boolean }): Promise<PromotionPage> {
      const limit = pageSize(req.pageSize);
      const rows = await store.listPromotions(store.db, {
        after: decodePageToken(req.pageToken),
        limit,
        activeAt: req.activeOnly ? clock() : undefined,
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { promotions: page, nextPageToken: rows.length > limit && last ? encodePageToken({ time: last.createdAt, id: last.id }) : "" };
    },

    /** Only a promotion never redeemed (FAILED_PRECONDITION otherwise); NOT_FOUND if there is none. */
    async remove(id: string): Promise<void> {
      if (!(await store.deletePromotion(store.db, id))) throw notFound("promotion", id);
    },
  };
}
