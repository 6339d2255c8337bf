-- Outbox: events written in the same transaction as the state change that produced them,
-- published later by the relay. `id` gives the publishing order; `event_id` is the identity
-- consumers deduplicate by. A row with published_at NULL is owed to the broker.
CREATE TABLE outbox (
  id           bigserial PRIMARY KEY,
  event_id     uuid        NOT NULL UNIQUE,
  type         text        NOT NULL,
  payload      bytea       NOT NULL,
  headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);

-- The relay only ever scans unpublished rows in id order; a partial index keeps that scan
-- proportional to the backlog, not to the table's history.
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- Pruning published rows walks them by age.
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Inbox: which events each consumer (queue) has handled, written in the handler's transaction.
CREATE TABLE inbox (
  consumer    text        NOT NULL,
  event_id    uuid        NOT NULL,
  handled_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

CREATE INDEX inbox_handled_at_idx ON inbox (handled_at);
