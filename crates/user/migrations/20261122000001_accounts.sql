-- Accounts and sessions of the user service.

CREATE TABLE app_user (
    user_id       uuid PRIMARY KEY,
    -- Stored lower-cased; the unique index makes emails unique case-insensitively
    -- even if a future writer forgets to lower-case.
    email         text NOT NULL CHECK (email = lower(email)),
    name          text NOT NULL,
    phone         text,
    -- Argon2id in PHC string form (algorithm, parameters and salt included), so
    -- parameters can change without invalidating existing hashes.
    password_hash text NOT NULL,
    -- Every account is a GUEST; HOST and ADMIN are granted.
    roles         text[] NOT NULL DEFAULT '{GUEST}'
                  CHECK (roles <@ ARRAY['GUEST', 'HOST', 'ADMIN'] AND 'GUEST' = ANY (roles)),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX app_user_email_key ON app_user (lower(email));

-- One row per refresh token ever issued. A session is a family: every rotation
-- adds a row to the family and marks the previous one used. Presenting a used
-- token again means it was stolen (or replayed), so the whole family is revoked.
CREATE TABLE refresh_token (
    -- SHA-256 of the opaque token; the token itself is never stored.
    token_hash  bytea PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_token_family_idx ON refresh_token (family_id);
CREATE INDEX refresh_token_user_idx ON refresh_token (user_id) WHERE revoked_at IS NULL;
