-- The sandbox PG's whole state: payments, their cancellations (refunds) and
-- the webhooks it owes the merchant. Nothing lives only in memory (except the
-- fault switches), so a restarted sandbox carries on where the last one stopped.

CREATE TABLE payment (
    payment_key       text PRIMARY KEY,
    -- The merchant's order: one payment per order, so a repeated registration
    -- (a merchant retrying after a timeout) finds the first one.
    order_id          text NOT NULL UNIQUE,
    order_name        text NOT NULL,
    -- What the merchant registered, kept apart from what was charged so a
    -- repeated registration compares against the merchant's own figure even
    -- after the tamper test card changed `amount`.
    registered_amount bigint NOT NULL CHECK (registered_amount > 0),
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text NOT NULL,
    status            text NOT NULL
        CHECK (status IN ('READY', 'PAID', 'FAILED', 'CANCELLED', 'PARTIAL_CANCELLED')),
    method            text,
    -- Refunds can never exceed the charge, whatever races the API loses.
    cancelled_amount  bigint NOT NULL DEFAULT 0
        CHECK (cancelled_amount >= 0 AND cancelled_amount <= amount),
    fail_reason       text,
    redirect_url      text NOT NULL,
    expires_at        timestamptz NOT NULL,
    paid_at           timestamptz,
    cancelled_at      timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

CREATE TABLE cancellation (
    cancellation_id text PRIMARY KEY,
    payment_key     text NOT NULL REFERENCES payment (payment_key),
    amount          bigint NOT NULL CHECK (amount > 0),
    reason          text NOT NULL,
    idempotency_key text NOT NULL,
    cancelled_at    timestamptz NOT NULL,
    -- A retried refund finds the first one instead of refunding twice.
    UNIQUE (payment_key, idempotency_key)
);
CREATE INDEX cancellation_payment_idx ON cancellation (payment_key, cancelled_at);

-- A webhook is written in the transaction of the change it announces (an
-- outbox), so a change is never committed without its webhook or the reverse.
CREATE TABLE webhook (
    webhook_id      text PRIMARY KEY,
    payment_key     text NOT NULL REFERENCES payment (payment_key),
    type            text NOT NULL,
    -- The exact bytes sent and signed; every retry and duplicate sends them again.
    body            text NOT NULL,
    created_at      timestamptz NOT NULL,
    -- When the delivery loop may next take it. Taking it pushes this forward
    -- (a lease), so a sandbox that dies mid-delivery leaves it to another.
    next_attempt_at timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    -- Given up after the last attempt; kept so people can see what happened.
    failed          boolean NOT NULL DEFAULT false
);
CREATE INDEX webhook_due_idx ON webhook (next_attempt_at)
    WHERE delivered_at IS NULL AND NOT failed;
CREATE INDEX webhook_payment_idx ON webhook (payment_key, created_at);
