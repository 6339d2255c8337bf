// All SQL for the category tree. Methods take the Queryable to run on, like store.ts.
import type { Queryable } from "../../platform/db/db.js";
import { Code, ShopError } from "../../platform/errors.js";

export interface CategoryRecord {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  /** Undefined for a top-level category. */
  readonly parentId: string | undefined;
  readonly description: string;
}

type CategoryRow = { id: string; slug: string; name: string; parent_id: string | null; description: string };

const COLUMNS = "id, slug, name, parent_id, description";

const toCategory = (r: CategoryRow): CategoryRecord => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  parentId: r.parent_id ?? undefined,
  description: r.description,
});

function conflict(err: unknown, slugField: string): unknown {
  const e = err as { code?: unknown; constraint?: unknown };
  if (e.code === "23505" && e.constraint === "categories_slug_key") {
    return new ShopError(Code.ALREADY_EXISTS, "a category with this slug already exists", [{ field: slugField, description: "already used by another category" }]);
  }
  return err;
}

export type CategoryStore = typeof categoryStore;

export const categoryStore = {
  async byId(q: Queryable, id: string, opts: { lock?: boolean } = {}): Promise<CategoryRecord | undefined> {
    const { rows } = await q.query<CategoryRow>(`SELECT ${COLUMNS} FROM categories WHERE id = $1${opts.lock ? " FOR UPDATE" : ""}`, [id]);
    return rows[0] && toCategory(rows[0]);
  },

  /**
   * The ids of `ids` that exist, share-locked until the transaction ends, so a category a
   * product is about to name cannot be deleted under it.
   */
  async lockExisting(q: Queryable, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await q.query<{ id: string }>("SELECT id FROM categories WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE", [ids]);
    return new Set(rows.map((r) => r.id));
  },

  /** `id` and every category below it (empty if there is no such category). */
  async subtree(q: Queryable, id: string): Promise<string[]> {
    const { rows } = await q.query<{ id: string }>(
      `WITH RECURSIVE tree AS (
         SELECT id FROM categories WHERE id = $1
         UNION
         SELECT c.id FROM categories c JOIN tree t ON c.parent_id = t.id)
       SELECT id FROM tree`,
      [id],
    );
    return rows.map((r) => r.id);
  },

  /** ALREADY_EXISTS naming `slug` when the slug is taken. */
  async insert(q: Queryable, c: CategoryRecord, now: Date): Promise<CategoryRecord> {
    try {
      const { rows } = await q.query<CategoryRow>(
        `INSERT INTO categories (id, slug, name, parent_id, description, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ${COLUMNS}`,
        [c.id, c.slug, c.name, c.parentId ?? null, c.description, now],
      );
      return toCategory(rows[0]!);
    } catch (err) {
      throw conflict(err, "slug");
    }
  },

  /** ALREADY_EXISTS naming `category.slug` when the slug is taken. */
  async update(q: Queryable, c: CategoryRecord, now: Date): Promise<CategoryRecord> {
    try {
      const { rows } = await q.query<CategoryRow>(
        `UPDATE categories SET slug = $2, name = $3, parent_id = $4, description = $5, updated_at = $6 WHERE id = $1 RETURNING ${COLUMNS}`,
        [c.id, c.slug, c.name, c.parentId ?? null, c.description, now],
      );
      return toCategory(rows[0]!);
    } catch (err) {
      throw conflict(err, "category.slug");
    }
  },

  async hasChildren(q: Queryable, id: string): Promise<boolean> {
    const { rowCount } = await q.query("SELECT 1 FROM categories WHERE parent_id = $1 LIMIT 1", [id]);
    return rowCount > 0;
  },

  /** Whether any product, in any status, names the category. */
  async hasProducts(q: Queryable, id: string): Promise<boolean> {
    const { rowCount } = await q.query("SELECT 1 FROM products WHERE category_ids @> ARRAY[$1::uuid] LIMIT 1", [id]);
    return rowCount > 0;
  },

  async delete(q: Queryable, id: string): Promise<void> {
    await q.query("DELETE FROM categories WHERE id = $1", [id]);
  },

  /** By slug; children of `parentId` only when given. One row more than `limit` means another page. */
  async list(q: Queryable, parentId: string | undefined, afterSlug: string | undefined, limit: number): Promise<CategoryRecord[]> {
    const { rows } = await q.query<CategoryRow>(
      `SELECT ${COLUMNS} FROM categories
       WHERE ($1::uuid IS NULL OR parent_id = $1) AND ($2::text IS NULL OR slug > $2)
       ORDER BY slug LIMIT $3`,
      [parentId ?? null, afterSlug ?? null, limit + 1],
    );
    return rows.map(toCategory);
  },

  /** Every slug → id, for the seeders. */
  async idsBySlug(q: Queryable): Promise<Map<string, string>> {
    const { rows } = await q.query<{ id: string; slug: string }>("SELECT id, slug FROM categories");
    return new Map(rows.map((r) => [r.slug, r.id]));
  },
};
