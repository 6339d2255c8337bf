-- Accounts and their address books. Times come from the service's clock (millisecond
-- precision), which keeps page tokens exact and lets tests move time.

CREATE TABLE users (
  id            uuid        PRIMARY KEY,
  -- Normalized (trimmed, lower-case). "C" collation: byte order, so the unique index also
  -- serves ListUsers' prefix search (LIKE 'abc%').
  email         text        COLLATE "C" NOT NULL,
  display_name  text        NOT NULL,
  -- argon2id PHC string; never selected by the queries that feed responses.
  password_hash text        NOT NULL,
  roles         text[]      NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);

CREATE UNIQUE INDEX users_email_key ON users (email);

-- ListUsers: oldest first, keyset on (created_at, id).
CREATE INDEX users_created_idx ON users (created_at, id);

-- Keyed by user so the table can be distributed by user_id along with the account.
CREATE TABLE addresses (
  user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  id             uuid        NOT NULL,
  label          text        NOT NULL,
  recipient_name text        NOT NULL,
  line1          text        NOT NULL,
  line2          text        NOT NULL,
  city           text        NOT NULL,
  region         text        NOT NULL,
  postal_code    text        NOT NULL,
  country_code   text        NOT NULL,
  phone          text        NOT NULL,
  is_default     boolean     NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (user_id, id)
);

-- At most one default per user, enforced by the database, not just by the code.
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default;

CREATE INDEX addresses_list_idx ON addresses (user_id, is_default DESC, created_at, id);
