-- Stock per SKU, reservations per order, and the audit trail of admin adjustments. `stock` and
-- `stock_adjustments` are keyed by SKU, `reservations` and `reservation_lines` by order id, so
-- each pair can later be distributed by its key. Times come from the service's clock.

CREATE TABLE stock (
  sku                 text        PRIMARY KEY,
  -- Physically in the warehouse, reserved units included.
  on_hand             integer     NOT NULL CHECK (on_hand >= 0),
  -- Held by ACTIVE reservations.
  reserved            integer     NOT NULL CHECK (reserved >= 0),
  -- What can still be sold. Derived, so it can never disagree with the two above; the CHECK
  -- below is the last line of defence: whatever the code does, no transaction can commit
  -- stock sold twice.
  available           integer     GENERATED ALWAYS AS (on_hand - reserved) STORED,
  low_stock_threshold integer     NOT NULL CHECK (low_stock_threshold >= 0),
  updated_at          timestamptz NOT NULL,
  CONSTRAINT stock_reserved_within_on_hand CHECK (reserved <= on_hand)
);

CREATE TABLE stock_adjustments (
  sku           text        NOT NULL,
  id            bigint      GENERATED ALWAYS AS IDENTITY,
  delta         integer     NOT NULL CHECK (delta <> 0),
  reason        text        NOT NULL,
  -- Subject of the admin's access token.
  actor         text        NOT NULL,
  on_hand_after integer     NOT NULL,
  created_at    timestamptz NOT NULL,
  PRIMARY KEY (sku, id)
);

CREATE TABLE reservations (
  order_id       uuid        PRIMARY KEY,
  status         text        NOT NULL CHECK (status IN ('active', 'committed', 'released', 'expired')),
  created_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  -- ReleaseReservation's reason, or 'expired'; empty while active or committed.
  release_reason text        NOT NULL DEFAULT ''
);

-- ListReservations: oldest first, keyset on (created_at, order_id).
CREATE INDEX reservations_created_idx ON reservations (created_at, order_id);
-- The expiry job's scan: only ACTIVE reservations are ever due.
CREATE INDEX reservations_due_idx ON reservations (expires_at) WHERE status = 'active';

-- A reservation with no lines is a tombstone: ReleaseReservation for an order that had none,
-- so that a ReserveStock arriving after its own compensation cannot hold stock.
CREATE TABLE reservation_lines (
  order_id uuid    NOT NULL REFERENCES reservations (order_id) ON DELETE CASCADE,
  -- Order of the lines in the ReserveStock request.
  position integer NOT NULL,
  sku      text    NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, position),
  UNIQUE (order_id, sku)
);

-- ListReservations' sku filter.
CREATE INDEX reservation_lines_sku_idx ON reservation_lines (sku);
