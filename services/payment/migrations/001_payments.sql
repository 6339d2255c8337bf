-- Payment methods, payments, refunds and the double-entry ledger. No card number or CVC is in
-- any table: a payment method is the provider's token plus what a receipt shows. Amounts are
-- integer minor units with their ISO 4217 code next to them.

CREATE TABLE payment_methods (
  token       text        PRIMARY KEY,
  -- The caller's subject from the verified token (a users-service id).
  user_id     text        NOT NULL,
  provider    text        NOT NULL,
  brand       text        NOT NULL,
  last4       text        NOT NULL,
  exp_month   integer     NOT NULL,
  exp_year    integer     NOT NULL,
  created_at  timestamptz NOT NULL
);

-- ListPaymentMethods: the user's cards, newest first, keyset-paged by (created_at, token).
CREATE INDEX payment_methods_user_idx ON payment_methods (user_id, created_at DESC, token DESC);

CREATE TABLE payments (
  id                   uuid        PRIMARY KEY,
  order_id             uuid        NOT NULL,
  user_id              uuid        NOT NULL,
  -- AuthorizePayment's key: one payment per key, for good.
  idempotency_key      text        NOT NULL UNIQUE,
  -- Kept so that a pending authorization can be retried (reconciled) with the same inputs.
  payment_method_token text        NOT NULL,
  card_brand           text        NOT NULL,
  card_last4           text        NOT NULL,
  provider             text        NOT NULL,
  provider_reference   text        NOT NULL DEFAULT '',
  currency_code        text        NOT NULL,
  amount_minor         bigint      NOT NULL CHECK (amount_minor > 0),
  captured_minor       bigint      NOT NULL DEFAULT 0 CHECK (captured_minor >= 0 AND captured_minor <= amount_minor),
  refunded_minor       bigint      NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= captured_minor),
  -- See payment-rules.ts for the transitions. 'pending': recorded, provider's answer unknown.
  status               text        NOT NULL CHECK (status IN ('pending', 'authorized', 'captured', 'partially_refunded', 'refunded', 'voided', 'failed')),
  -- A capture or void recorded before the provider was called and not yet resolved; the next
  -- call that touches the payment (or the reconciler) finishes it with the same provider key.
  pending_op           text        CHECK (pending_op IN ('capture', 'void')),
  pending_amount_minor bigint      CHECK (pending_amount_minor > 0),
  void_reason          text        NOT NULL DEFAULT '',
  -- Why the provider refused the last capture or void (the payment stays authorized).
  rejection            text        NOT NULL DEFAULT '',
  failure_code         text        NOT NULL DEFAULT '',
  failure_reason       text        NOT NULL DEFAULT '',
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL,
  CONSTRAINT payments_pending_op_needs_authorized CHECK (pending_op IS NULL OR status = 'authorized'),
  CONSTRAINT payments_capture_has_amount CHECK ((pending_op = 'capture') = (pending_amount_minor IS NOT NULL))
);

-- One live payment per order: a failed or voided attempt leaves room for the next one, two
-- concurrent attempts with different keys cannot both hold money.
CREATE UNIQUE INDEX payments_one_live_per_order ON payments (order_id) WHERE status NOT IN ('failed', 'voided');
-- The reconciler's scan.
CREATE INDEX payments_unresolved_idx ON payments (updated_at) WHERE status = 'pending' OR pending_op IS NOT NULL;

CREATE TABLE refunds (
  id                 uuid        PRIMARY KEY,
  payment_id         uuid        NOT NULL REFERENCES payments (id),
  idempotency_key    text        NOT NULL UNIQUE,
  -- The request as sent (NULL: "the rest"), which is what a replay is compared with.
  requested_minor    bigint      CHECK (requested_minor > 0),
  -- What this refund returns; reserved against the captured amount while pending.
  amount_minor       bigint      NOT NULL CHECK (amount_minor > 0),
  reason             text        NOT NULL DEFAULT '',
  status             text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  provider_reference text        NOT NULL DEFAULT '',
  failure_reason     text        NOT NULL DEFAULT '',
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);

CREATE INDEX refunds_payment_idx ON refunds (payment_id, created_at);
CREATE INDEX refunds_pending_idx ON refunds (updated_at) WHERE status = 'pending';

-- The ledger: one transaction per money movement (what ListLedgerEntries returns), made of
-- postings on accounts (see README.md for the model). Append-only, and balanced by a check
-- that runs at commit.
CREATE TABLE ledger_transactions (
  seq                bigserial   PRIMARY KEY,
  id                 uuid        NOT NULL UNIQUE,
  payment_id         uuid        NOT NULL REFERENCES payments (id),
  order_id           uuid        NOT NULL,
  kind               text        NOT NULL CHECK (kind IN ('authorization', 'capture', 'void', 'refund', 'failure')),
  currency_code      text        NOT NULL,
  amount_minor       bigint      NOT NULL CHECK (amount_minor > 0),
  provider_reference text        NOT NULL DEFAULT '',
  idempotency_key    text        NOT NULL,
  created_at         timestamptz NOT NULL,
  -- One movement of a kind per operation, whatever happens to the code above it.
  CONSTRAINT ledger_one_movement_per_operation UNIQUE (idempotency_key, kind)
);

CREATE INDEX ledger_transactions_payment_idx ON ledger_transactions (payment_id, seq);
CREATE INDEX ledger_transactions_order_idx ON ledger_transactions (order_id, seq);

CREATE TABLE ledger_postings (
  transaction_id uuid   NOT NULL REFERENCES ledger_transactions (id),
  account        text   NOT NULL CHECK (account IN ('customer_funds', 'authorized', 'captured', 'refunded')),
  direction      text   NOT NULL CHECK (direction IN ('debit', 'credit')),
  amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
  PRIMARY KEY (transaction_id, account, direction)
);

-- At commit: every transaction that got postings has debits equal to credits.
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  imbalance bigint;
BEGIN
  SELECT coalesce(sum(CASE direction WHEN 'debit' THEN amount_minor ELSE -amount_minor END), 0)
    INTO imbalance FROM ledger_postings WHERE transaction_id = NEW.transaction_id;
  IF imbalance <> 0 THEN
    RAISE EXCEPTION 'ledger transaction % does not balance (debits - credits = %)', NEW.transaction_id, imbalance;
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the ledger is append-only (% on %)', TG_OP, TG_TABLE_NAME;
END $$;

CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
