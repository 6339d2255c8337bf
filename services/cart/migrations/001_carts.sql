-- Carts and their lines. Both tables are keyed by owner_key (`u:<user id>` for a signed-in
-- user's cart, `g:<sha-256 of the cart token>` for a guest's), so they can later be distributed
-- by it with each cart's lines next to the cart. Times come from the service's clock.

CREATE TABLE carts (
  owner_key  text        PRIMARY KEY,
  -- Public id (Cart.id, events); a new one each time the owner's cart is created afresh.
  id         uuid        NOT NULL DEFAULT gen_random_uuid(),
  -- NULL for guest carts.
  user_id    text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- updated_at plus the guest or user TTL; past it the cart reads as empty and the cleanup
  -- deletes it.
  expires_at timestamptz NOT NULL,
  CONSTRAINT carts_owner_kind CHECK ((user_id IS NULL) = starts_with(owner_key, 'g:'))
);

-- The cleanup's scan.
CREATE INDEX carts_expires_at_idx ON carts (expires_at);

CREATE TABLE cart_lines (
  owner_key          text        NOT NULL REFERENCES carts (owner_key) ON DELETE CASCADE,
  sku                text        NOT NULL,
  -- Order of first addition within the cart.
  position           integer     NOT NULL,
  quantity           integer     NOT NULL CHECK (quantity > 0),
  -- Catalog snapshot from the last AddItem of this SKU: what the line shows when the catalog
  -- cannot be asked or has dropped the SKU, and the price that "price changed" compares with.
  -- Never a price from the client.
  product_id         text        NOT NULL,
  product_name       text        NOT NULL,
  sku_name           text        NOT NULL,
  image_url          text        NOT NULL,
  added_price_minor  bigint      NOT NULL,
  currency_code      text        NOT NULL,
  added_at           timestamptz NOT NULL,
  PRIMARY KEY (owner_key, sku)
);
