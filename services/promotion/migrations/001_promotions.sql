-- Promotions, the redemptions orders hold, and per-customer usage counters. Money is bigint
-- minor units with its currency next to it; times come from the service's clock.

CREATE TABLE promotions (
  id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  name                 text        NOT NULL,
  -- Upper-case; NULL for automatic promotions.
  coupon_code          text        UNIQUE CHECK (coupon_code = upper(coupon_code)),
  kind                 text        NOT NULL CHECK (kind IN ('percentage', 'fixed_amount', 'free_shipping')),
  percent_bps          integer     NOT NULL DEFAULT 0 CHECK (percent_bps BETWEEN 0 AND 10000),
  amount_off_minor     bigint,
  amount_off_currency  text,
  starts_at            timestamptz,
  ends_at              timestamptz,
  min_spend_minor      bigint,
  min_spend_currency   text,
  per_customer_limit   integer     NOT NULL DEFAULT 0 CHECK (per_customer_limit >= 0),
  total_limit          integer     NOT NULL DEFAULT 0 CHECK (total_limit >= 0),
  -- Redemptions held now. Only ever changed by the conditional UPDATEs in store.ts, which is
  -- what keeps total_limit under concurrent redemptions.
  redemption_count     integer     NOT NULL DEFAULT 0 CHECK (redemption_count >= 0),
  stackable            boolean     NOT NULL DEFAULT false,
  disabled             boolean     NOT NULL DEFAULT false,
  applies_to_skus      text[]      NOT NULL DEFAULT '{}',
  applies_to_categories text[]     NOT NULL DEFAULT '{}',
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,
  CONSTRAINT promotions_amount_off CHECK ((amount_off_minor IS NULL) = (amount_off_currency IS NULL)),
  CONSTRAINT promotions_min_spend CHECK ((min_spend_minor IS NULL) = (min_spend_currency IS NULL))
);

-- ListPromotions: newest first, keyset pages on (created_at, id).
CREATE INDEX promotions_created_idx ON promotions (created_at DESC, id DESC);
-- EvaluateCart reads the automatic promotions that are on.
CREATE INDEX promotions_automatic_idx ON promotions (starts_at, ends_at) WHERE coupon_code IS NULL AND NOT disabled;

-- One row per order that redeemed (or released before redeeming: a tombstone, so a redemption
-- that arrives after its order was compensated is refused instead of counted).
CREATE TABLE order_redemptions (
  order_id       uuid        PRIMARY KEY,
  -- NULL only for a tombstone.
  user_id        uuid,
  status         text        NOT NULL CHECK (status IN ('redeemed', 'released')),
  redeemed_at    timestamptz,
  released_at    timestamptz,
  release_reason text        NOT NULL DEFAULT ''
);

CREATE TABLE redemptions (
  order_id        uuid    NOT NULL REFERENCES order_redemptions (order_id),
  -- RESTRICT: a promotion that was ever redeemed cannot be deleted (DeletePromotion).
  promotion_id    uuid    NOT NULL REFERENCES promotions (id) ON DELETE RESTRICT,
  position        integer NOT NULL,
  coupon_code     text    NOT NULL,
  amount_minor    bigint  NOT NULL CHECK (amount_minor >= 0),
  currency_code   text    NOT NULL,
  PRIMARY KEY (order_id, promotion_id)
);

CREATE INDEX redemptions_promotion_idx ON redemptions (promotion_id);

-- Redemptions each customer holds per promotion, for per_customer_limit; changed only by the
-- conditional upsert/decrement in store.ts.
CREATE TABLE customer_usage (
  promotion_id uuid    NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
  user_id      uuid    NOT NULL,
  uses         integer NOT NULL CHECK (uses >= 0),
  PRIMARY KEY (promotion_id, user_id)
);
