-- Products with their SKUs, the category tree, the stock projection and the search vocabulary.
-- Times come from the service's clock (millisecond precision), which keeps page tokens exact.

-- Trigram similarity for typo-tolerant search. In the public schema so that every service's
-- search_path (`<schema>, public`) finds it, and so one installation serves every schema of the
-- embedded single-process mode (PGlite loads the contrib module; see platform/db/embedded-postgres.ts).
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;

CREATE TABLE categories (
  id          uuid        PRIMARY KEY,
  slug        text        COLLATE "C" NOT NULL,
  name        text        NOT NULL,
  -- ON DELETE RESTRICT: a category with children cannot go (DeleteCategory says so first).
  parent_id   uuid        REFERENCES categories (id) ON DELETE RESTRICT,
  description text        NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

-- Unique slugs; "C" collation so the index also serves ListCategories' keyset on slug.
CREATE UNIQUE INDEX categories_slug_key ON categories (slug);
CREATE INDEX categories_parent_idx ON categories (parent_id, slug);

CREATE TABLE products (
  id              uuid        PRIMARY KEY,
  slug            text        NOT NULL,
  name            text        NOT NULL,
  description     text        NOT NULL,
  -- In the order the admin gave; referential integrity is kept by the service (categories are
  -- locked while a product names them, and a category named by any product cannot be deleted).
  category_ids    uuid[]      NOT NULL,
  image_urls      text[]      NOT NULL,
  status          text        NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
  -- Derived from the SKUs on every write (product-rules.ts), for filters and sorts without a join:
  -- every SKU of a product has this currency; the lowest price of its active SKUs (of all SKUs
  -- when none is active); "key=value" of every SKU attribute (related products).
  currency_code   text        NOT NULL,
  min_price_minor bigint      NOT NULL,
  attr_tags       text[]      NOT NULL,
  -- SKU names and attribute values: searchable, weighted between name and description.
  search_extra    text        NOT NULL,
  -- Any SKU that is active and in stock (kept by the StockChanged projection and SKU writes).
  in_stock        boolean     NOT NULL DEFAULT false,
  -- For the NAME sort: case-insensitive, byte order so keyset comparisons match the index.
  name_key        text        COLLATE "C" GENERATED ALWAYS AS (lower(name)) STORED,
  search_vector   tsvector    GENERATED ALWAYS AS (
                    setweight(to_tsvector('english'::regconfig, name), 'A')
                    || setweight(to_tsvector('english'::regconfig, search_extra), 'B')
                    || setweight(to_tsvector('english'::regconfig, description), 'C')) STORED,
  -- First time the product became ACTIVE; such a product may have been sold, so it can only
  -- be archived, never deleted, even if it went back to DRAFT.
  published_at    timestamptz,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);

CREATE UNIQUE INDEX products_slug_key ON products (slug);

-- Full-text search, and the category / attribute overlaps of filters and related products.
CREATE INDEX products_search_idx ON products USING gin (search_vector);
CREATE INDEX products_categories_idx ON products USING gin (category_ids);
CREATE INDEX products_attr_tags_idx ON products USING gin (attr_tags);

-- ListProducts' sorts, each a keyset on (key, id) within a status.
CREATE INDEX products_newest_idx ON products (status, created_at DESC, id DESC);
CREATE INDEX products_price_idx ON products (status, min_price_minor, id);
CREATE INDEX products_name_idx ON products (status, name_key, id);
-- The in-stock filter: when few products are in stock, these find them without a full scan.
CREATE INDEX products_in_stock_newest_idx ON products (status, created_at DESC, id DESC) WHERE in_stock;
CREATE INDEX products_in_stock_price_idx ON products (status, min_price_minor, id) WHERE in_stock;

CREATE TABLE skus (
  -- Unique across the catalog: inventory, carts and orders refer to it.
  code          text        PRIMARY KEY,
  product_id    uuid        NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  position      integer     NOT NULL,
  name          text        NOT NULL,
  price_minor   bigint      NOT NULL CHECK (price_minor >= 0),
  currency_code text        NOT NULL,
  attributes    jsonb       NOT NULL,
  weight_grams  integer     NOT NULL,
  active        boolean     NOT NULL
);

CREATE INDEX skus_product_idx ON skus (product_id, position);

-- A projection of inventory's StockChanged events, keyed by SKU code and independent of the
-- skus table: stock may be known before the SKU is (or after it is gone). `as_of` is the
-- event's time, so a late, older event never overwrites a newer level.
CREATE TABLE sku_stock (
  sku       text        PRIMARY KEY,
  available integer     NOT NULL,
  as_of     timestamptz NOT NULL
);

-- Every word ever indexed (names, descriptions, SKU names and attribute values), lower-case:
-- the vocabulary that search corrects typos against, found by trigram similarity.
CREATE TABLE search_words (
  word text COLLATE "C" PRIMARY KEY
);

CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);
