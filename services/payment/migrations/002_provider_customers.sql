-- The provider's customer record per user (a Stripe Customer), to which saved cards are
-- attached: Stripe lets a card that belongs to no Customer pay only once. The sandbox has none.

CREATE TABLE provider_customers (
  user_id    text        NOT NULL,
  provider   text        NOT NULL,
  reference  text        NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, provider)
);

ALTER TABLE payment_methods ADD COLUMN customer_reference text;
-- Copied from the payment method when the payment is recorded, for retries of the authorization.
ALTER TABLE payments ADD COLUMN customer_reference text;
