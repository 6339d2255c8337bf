// The category tree: admins create, rename, move and delete categories; anyone lists them.
// The tree stays a tree: a category cannot move below itself, and only a leaf that no product
// names can be deleted.
import { randomUUID } from "node:crypto";
import type { Db, Queryable } from "../../platform/db/db.js";
import { failedPrecondition, fieldError, notFound } from "../../platform/errors.js";
import { categoryStore as store, type CategoryRecord } from "./category-store.js";
import { decodePageToken, listFingerprint, pageOf, pageSize } from "./page-token.js";

const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const CATEGORY_FIELDS = ["slug", "name", "parent_id", "description"] as const;
export type CategoryField = (typeof CATEGORY_FIELDS)[number];

export interface CategoryInput {
  readonly slug: string;
  readonly name: string;
  /** "" for top level. */
  readonly parentId: string;
  readonly description: string;
}

export interface CategoryPage {
  readonly categories: CategoryRecord[];
  readonly nextPageToken: string;
}

export type Categories = ReturnType<typeof createCategories>;

/**
 * How long a category's subtree is reused by "in this category" filters before it is read again.
 * Only known categories are kept (an unknown one is looked up every time, so a category created
 * on another replica is found at once); this process forgets them all whenever it changes a
 * category, and another replica's move or new subcategory shows within this time.
 */
export const SUBTREE_TTL_MS = 5000;
const SUBTREE_ENTRIES = 1000;

export function createCategories({ db, clock }: { db: Db; clock: () => Date }) {
  const subtrees = new Map<string, { ids: string[]; until: number }>();
  // Bumped by every change, so a lookup that raced one is not kept.
  let generation = 0;
  /** A transaction that changes the tree: the kept subtrees are forgotten once it commits. */
  const change = async <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => {
    const result = await db.tx(fn);
    generation++;
    subtrees.clear();
    return result;
  };
  return {
    async create(input: CategoryInput): Promise<CategoryRecord> {
      const name = input.name.trim();
      if (name === "") throw fieldError("name", "must not be blank");
      return change(async (q) => {
        if (input.parentId !== "" && !(await store.byId(q, input.parentId, { lock: true }))) throw fieldError("parent_id", "no such category");
        return store.insert(q, { id: randomUUID(), slug: input.slug, name, parentId: input.parentId || undefined, description: input.description }, clock());
      });
    },

    async update(id: string, input: CategoryInput, mask: readonly string[]): Promise<CategoryRecord> {
      const has = (f: CategoryField) => mask.includes(f);
      // The Category message carries no field rules (it is also the response), so the
      // CreateCategory request's rules are applied here to the masked fields.
      if (has("name") && (input.name.trim() === "" || input.name.length > 100)) throw fieldError("category.name", "must be 1 to 100 characters, not blank");
      if (has("slug") && !(SLUG.test(input.slug) && input.slug.length <= 100)) throw fieldError("category.slug", "must be lower-case words of letters and digits joined by '-', at most 100 characters");
      if (has("parent_id") && input.parentId !== "" && !UUID.test(input.parentId)) throw fieldError("category.parent_id", "must be a UUID or empty");
      if (has("description") && input.description.length > 2000) throw fieldError("category.description", "must be at most 2000 characters");
      return change(async (q) => {
        const current = await store.byId(q, id, { lock: true });
        if (!current) throw notFound("category", id);
        const parentId = has("parent_id") ? input.parentId || undefined : current.parentId;
        if (parentId !== current.parentId && parentId !== undefined) {
          if (!(await store.byId(q, parentId, { lock: true }))) throw fieldError("category.parent_id", "no such category");
          if ((await store.subtree(q, id)).includes(parentId)) throw fieldError("category.parent_id", "would put the category below itself");
        }
        const next: CategoryRecord = {
          id,
          slug: has("slug") ? input.slug : current.slug,
          name: has("name") ? input.name.trim() : current.name,
          parentId,
          description: has("description") ? input.description : current.description,
        };
        return store.update(q, next, clock());
      });
    },

    async remove(id: string): Promise<void> {
      await change(async (q) => {
        if (!(await store.byId(q, id, { lock: true }))) throw notFound("category", id);
        if (await store.hasChildren(q, id)) throw failedPrecondition("the category has subcategories; delete or move them first");
        if (await store.hasProducts(q, id)) throw failedPrecondition("products are in this category; take them out first");
        await store.delete(q, id);
      });
    },

    async list(req: { pageSize: number; pageToken: string; parentId: string }): Promise<CategoryPage> {
      const limit = pageSize(req.pageSize);
      const list = `categories:${listFingerprint([req.parentId])}`;
      const after = decodePageToken(req.pageToken, list, ["string"]);
      const rows = await store.list(db, req.parentId || undefined, after?.key[0] as string | undefined, limit);
      const { page, nextPageToken } = pageOf(rows, limit, list, (c) => [c.slug]);
      return { categories: page, nextPageToken };
    },

    /** A category and all below it, for "in this category" filters; an unknown one is INVALID_ARGUMENT naming `field`. */
    async withDescendants(id: string, field: string): Promise<readonly string[]> {
      const kept = subtrees.get(id);
      if (kept && kept.until > performance.now()) return kept.ids;
      const before = generation;
      const ids = await store.subtree(db, id);
      if (ids.length === 0) throw fieldError(field, "no such category");
      if (generation === before) {
        if (subtrees.size >= SUBTREE_ENTRIES) subtrees.clear();
        subtrees.set(id, { ids, until: performance.now() + SUBTREE_TTL_MS });
      }
      return ids;
    },
  };
}
