-- The notification service's tables. Keyed by user so they can later be distributed by it.

-- Email addresses as the users service announced them (UserRegistered, PasswordChanged): the
-- order, payment and shipping events carry a user id only, and users.proto has no internal
-- lookup, so this service keeps its own copy.
CREATE TABLE recipients (
  user_id uuid PRIMARY KEY,
  email text NOT NULL,
  display_name text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL
);

-- A missing row means the defaults (see preferences.ts).
CREATE TABLE preferences (
  user_id uuid PRIMARY KEY,
  order_updates_email boolean NOT NULL,
  marketing_email boolean NOT NULL,
  live_order_updates boolean NOT NULL,
  updated_at timestamptz NOT NULL
);

-- The delivery log, and at the same time the queue the sender drains: a row is written in the
-- transaction that handles the event, so a mail exists exactly when its event was handled.
CREATE TABLE notifications (
  user_id uuid NOT NULL,
  id uuid NOT NULL,
  channel text NOT NULL CHECK (channel IN ('email', 'live')),
  template text NOT NULL,
  -- What makes two notifications the same one (the order id for an order's confirmation), so a
  -- fact republished under a new event id is still mailed once.
  dedupe_key text NOT NULL,
  subject text NOT NULL,
  body_text text NOT NULL,
  body_html text NOT NULL,
  order_id uuid,
  status text NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
  attempts integer NOT NULL DEFAULT 0,
  -- While queued: when the sender may take it next (also the lease of a claimed row).
  next_attempt_at timestamptz,
  failure_reason text NOT NULL DEFAULT '',
  -- The address of the last attempt.
  to_address text,
  -- The trace context of the event that queued it: the send continues that trace.
  trace_headers jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL,
  sent_at timestamptz,
  PRIMARY KEY (user_id, id),
  UNIQUE (user_id, template, dedupe_key)
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'queued';
CREATE INDEX notifications_newest ON notifications (user_id, created_at DESC, id DESC);
