-- Refresh tokens, failed sign-ins and the keys that sign access tokens.

-- Only the SHA-256 of each token is stored. A family is one sign-in's chain of rotations.
CREATE TABLE refresh_tokens (
  token_hash bytea       PRIMARY KEY,
  user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  family_id  uuid        NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  revoked_at timestamptz
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
-- Pruning walks expired tokens.
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

-- One row per failed sign-in. account_key is the normalized email as typed (whether or not an
-- account has it); client_address the gateway's x-client-ip, NULL when the call did not say.
-- A successful sign-in clears the account's rows for the per-account count only, so it cannot
-- be used to reset an address's count.
CREATE TABLE login_failures (
  id              bigserial   PRIMARY KEY,
  account_key     text        NOT NULL,
  client_address  text,
  failed_at       timestamptz NOT NULL,
  account_cleared boolean     NOT NULL DEFAULT false
);

CREATE INDEX login_failures_account_idx ON login_failures (account_key, failed_at) WHERE NOT account_cleared;
CREATE INDEX login_failures_address_idx ON login_failures (client_address, failed_at) WHERE client_address IS NOT NULL;
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);

-- ES256 signing keys (see signing-keys.ts for the timeline). private_jwk is the private key:
-- readable only by this service's database role; encryption at rest is the database's job.
CREATE TABLE signing_keys (
  kid          text        PRIMARY KEY,
  private_jwk  jsonb       NOT NULL,
  public_jwk   jsonb       NOT NULL,
  created_at   timestamptz NOT NULL,
  activated_at timestamptz NOT NULL,
  retired_at   timestamptz
);
