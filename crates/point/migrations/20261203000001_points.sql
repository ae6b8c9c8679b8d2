-- Points: an account per user (its balance and reserved points, changed only
-- under its row lock), lots with their own expiry, the ledger, the lots each
-- entry touched, and the reservations of bookings with the lots they hold.

CREATE TABLE point_account (
    user_id    uuid PRIMARY KEY,
    -- Equals the sum of the user's ledger and of the lots' remaining amounts.
    balance    bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
    -- Set aside by bookings: the sum of the lots' held amounts.
    reserved   bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= balance),
    -- The number of the user's last ledger entry (entries are numbered 1, 2, ...).
    last_seq   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE point_entry (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES point_account (user_id),
    seq             bigint NOT NULL,
    type            text NOT NULL CHECK (type IN ('EARN', 'USE', 'USE_CANCELLED', 'EXPIRE', 'ADJUST')),
    amount          bigint NOT NULL CHECK (amount <> 0),
    balance_after   bigint NOT NULL CHECK (balance_after >= 0),
    booking_id      uuid,
    description     text NOT NULL,
    -- EARN and positive ADJUST: when the new lot expires.
    expires_at      timestamptz,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    -- Earn and Adjust: the caller's key and a digest of the request, so a
    -- repeat returns this entry and a different request under it is refused.
    idempotency_key text UNIQUE,
    request_digest  text,
    UNIQUE (user_id, seq)
);
CREATE INDEX point_entry_history_idx ON point_entry (user_id, type, seq DESC);
-- A stay earns once, and a booking's use is cancelled at most once.
CREATE UNIQUE INDEX point_entry_once_per_booking_idx ON point_entry (booking_id, type)
    WHERE booking_id IS NOT NULL AND type IN ('EARN', 'USE', 'USE_CANCELLED');

CREATE TABLE point_lot (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES point_account (user_id),
    -- The EARN or ADJUST entry that made it.
    entry_id   uuid NOT NULL REFERENCES point_entry (id),
    amount     bigint NOT NULL CHECK (amount > 0),
    remaining  bigint NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    -- Part of remaining set aside by reservations: never expired, spent on commit.
    held       bigint NOT NULL DEFAULT 0 CHECK (held >= 0 AND held <= remaining),
    expires_at timestamptz NOT NULL
);
-- Lots a use may consume, soonest expiry first.
CREATE INDEX point_lot_usable_idx ON point_lot (user_id, expires_at, id) WHERE remaining > held;
-- Lots the expiry job has to visit.
CREATE INDEX point_lot_due_idx ON point_lot (expires_at) WHERE remaining > held;

-- What each USE, USE_CANCELLED, EXPIRE and negative ADJUST took from or gave
-- back to which lot (signed like the entry).
CREATE TABLE point_entry_lot (
    entry_id uuid NOT NULL REFERENCES point_entry (id),
    lot_id   uuid NOT NULL REFERENCES point_lot (id),
    amount   bigint NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (entry_id, lot_id)
);

CREATE TABLE point_reservation (
    booking_id uuid PRIMARY KEY,
    -- NULL for a tombstone: released before any reservation arrived.
    user_id    uuid REFERENCES point_account (user_id),
    amount     bigint NOT NULL CHECK (amount >= 0),
    state      text NOT NULL CHECK (state IN ('RESERVED', 'COMMITTED', 'RELEASED')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) = (amount = 0 AND state = 'RELEASED'))
);

-- The lots a reservation holds (and, once committed, spent).
CREATE TABLE point_hold (
    booking_id uuid NOT NULL REFERENCES point_reservation (booking_id),
    lot_id     uuid NOT NULL REFERENCES point_lot (id),
    amount     bigint NOT NULL CHECK (amount > 0),
    PRIMARY KEY (booking_id, lot_id)
);
