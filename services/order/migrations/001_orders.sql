-- Orders, their lines and status history, and the state of the saga that drives each order
-- (checkout, cancellation, refund). Orders are looked up by user for the shopper's lists and
-- keyed so the tables can later be distributed by user_id; lines and history hang off the
-- order id. Money is bigint minor units in the order's one currency.

CREATE TABLE orders (
  id                   uuid        PRIMARY KEY,
  user_id              text        NOT NULL,
  idempotency_key      text        NOT NULL,
  -- sha-256 of the PlaceOrder request's fields and of the cart's (sku, quantity) lines: a
  -- replay with the same key must match both (see fingerprint.ts).
  request_fingerprint  text        NOT NULL,
  cart_fingerprint     text        NOT NULL,
  status               text        NOT NULL,
  currency_code        text        NOT NULL,
  subtotal_minor       bigint      NOT NULL,
  discount_minor       bigint      NOT NULL,
  shipping_minor       bigint      NOT NULL,
  tax_minor            bigint      NOT NULL,
  total_minor          bigint      NOT NULL,
  -- [{promotionId, name, couponCode, amountMinor}], what PreviewCheckout promised.
  discounts            jsonb       NOT NULL,
  coupon_codes         text[]      NOT NULL,
  shipping_address     jsonb       NOT NULL,
  billing_address      jsonb       NOT NULL,
  shipping_speed       integer     NOT NULL,
  -- The provider token from PaymentService (never card data); needed to resume a saga.
  payment_method_token text        NOT NULL,
  payment_id           text        NOT NULL DEFAULT '',
  shipment_id          text        NOT NULL DEFAULT '',
  refunded_minor       bigint      NOT NULL DEFAULT 0,
  -- Why the order failed or was cancelled, as shown to the customer.
  reason               text        NOT NULL DEFAULT '',
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,

  -- The saga driving the order now: which plan, which phase, the next step's position.
  saga_kind            text        NOT NULL,
  saga_phase           text        NOT NULL DEFAULT 'forward',
  saga_next            integer     NOT NULL DEFAULT 0,
  saga_done            boolean     NOT NULL DEFAULT false,
  -- A checkout not past capture by then compensates instead of retrying.
  saga_deadline        timestamptz NOT NULL,
  -- The forward step that failed for good, and its gRPC code (for the error PlaceOrder gives).
  failed_step          text        NOT NULL DEFAULT '',
  failure_code         integer     NOT NULL DEFAULT 0,
  -- The replica driving the saga, until when; an expired lease is recovery's to take.
  lease_owner          text,
  lease_until          timestamptz,

  CONSTRAINT orders_idempotency UNIQUE (user_id, idempotency_key),
  CONSTRAINT orders_status CHECK (status IN ('pending', 'confirmed', 'fulfilling', 'shipped', 'delivered', 'cancelled',
                                             'return_requested', 'returned', 'refunded', 'failed')),
  CONSTRAINT orders_saga CHECK (saga_kind IN ('checkout', 'cancel', 'refund') AND saga_phase IN ('forward', 'compensate'))
);

-- The shopper's list, newest first (keyset pagination on created_at, id).
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC, id DESC);
-- The admin list.
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
-- Recovery's scan: unfinished sagas only.
CREATE INDEX orders_saga_lease_idx ON orders (lease_until) WHERE NOT saga_done;

CREATE TABLE order_lines (
  order_id         uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  position         integer NOT NULL,
  sku              text    NOT NULL,
  product_id       text    NOT NULL,
  product_name     text    NOT NULL,
  sku_name         text    NOT NULL,
  image_url        text    NOT NULL,
  quantity         integer NOT NULL CHECK (quantity > 0),
  unit_price_minor bigint  NOT NULL,
  discount_minor   bigint  NOT NULL,
  line_total_minor bigint  NOT NULL,
  weight_grams     integer NOT NULL,
  PRIMARY KEY (order_id, position)
);

CREATE TABLE order_status_history (
  order_id   uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  seq        bigserial,
  status     text        NOT NULL,
  reason     text        NOT NULL,
  changed_at timestamptz NOT NULL,
  PRIMARY KEY (order_id, seq)
);

-- One row per saga step an order ever ran: persisted before the peer call (started, attempt
-- count) and after it (done / failed), for recovery and for operators.
CREATE TABLE saga_steps (
  order_id    uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  step        text        NOT NULL,
  status      text        NOT NULL CHECK (status IN ('started', 'done', 'failed')),
  attempts    integer     NOT NULL,
  last_error  text        NOT NULL DEFAULT '',
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (order_id, step)
);
