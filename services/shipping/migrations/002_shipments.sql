-- Shipments, their lines and their tracking history. One shipment per order (order_id is
-- unique), which together with the inbox makes OrderPlaced and CreateShipment idempotent.
-- Times come from the service's clock; event times from the carrier.

CREATE TABLE shipments (
  id                    uuid        PRIMARY KEY,
  order_id              uuid        NOT NULL UNIQUE,
  user_id               uuid        NOT NULL,
  status                text        NOT NULL CHECK (status IN
    ('pending', 'label_created', 'shipped', 'in_transit', 'out_for_delivery', 'delivered', 'exception', 'cancelled')),
  speed                 text        NOT NULL CHECK (speed IN ('standard', 'express', 'overnight')),
  recipient_name        text        NOT NULL,
  line1                 text        NOT NULL,
  line2                 text        NOT NULL,
  city                  text        NOT NULL,
  region                text        NOT NULL,
  postal_code           text        NOT NULL,
  country_code          text        NOT NULL,
  phone                 text        NOT NULL,
  -- 0 when the catalog could not say.
  total_weight_grams    integer     NOT NULL CHECK (total_weight_grams >= 0),
  -- Chosen from the rate table at creation; shown once a label exists.
  carrier               text        NOT NULL,
  tracking_number       text        UNIQUE,
  label_created_at      timestamptz,
  -- When the parcel first reached the carrier (ShipmentShipped) and when it was delivered
  -- (ShipmentDelivered): set once, which is what makes each event go out once.
  shipped_at            timestamptz,
  delivered_at          timestamptz,
  estimated_delivery_at timestamptz,
  -- Time of the newest event that set the status: an older scan arriving late is recorded in
  -- the history but does not move the status.
  status_time           timestamptz NOT NULL,
  -- When the tracking job should next label or poll this shipment; NULL when it needs no
  -- polling (delivered, cancelled, exception).
  next_check_at         timestamptz,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  CHECK ((tracking_number IS NULL) = (label_created_at IS NULL))
);

CREATE INDEX shipments_due_idx ON shipments (next_check_at) WHERE next_check_at IS NOT NULL;

CREATE TABLE shipment_items (
  shipment_id uuid    NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
  position    integer NOT NULL,
  sku         text    NOT NULL,
  quantity    integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (shipment_id, position)
);

-- Keyed by the carrier's event id within the shipment: a webhook retry or a repeated poll adds
-- nothing.
CREATE TABLE tracking_events (
  shipment_id uuid        NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
  event_id    text        NOT NULL,
  -- Arrival order, to break ties between events with the same time.
  seq         bigint      GENERATED ALWAYS AS IDENTITY,
  status      text        NOT NULL,
  description text        NOT NULL,
  location    text        NOT NULL,
  event_time  timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  PRIMARY KEY (shipment_id, event_id)
);

CREATE INDEX tracking_events_history_idx ON tracking_events (shipment_id, event_time DESC, seq DESC);

-- Orders cancelled before their OrderPlaced arrived (events may be reordered): OrderPlaced for
-- one of these creates nothing.
CREATE TABLE cancelled_orders (
  order_id     uuid        PRIMARY KEY,
  cancelled_at timestamptz NOT NULL
);
