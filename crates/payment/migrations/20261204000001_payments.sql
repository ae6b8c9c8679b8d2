-- Payments: one per booking, registered with the PG before the guest pays.
CREATE TABLE payment (
    id              uuid PRIMARY KEY,
    booking_id      uuid NOT NULL UNIQUE,
    saga_id         text NOT NULL DEFAULT '',
    user_id         uuid NOT NULL,
    host_id         uuid NOT NULL,
    -- Ours, sent to the PG (PortOne merchant_uid).
    order_id        text NOT NULL UNIQUE,
    order_name      text NOT NULL,
    -- The PG's id of the payment (PortOne imp_uid), known once registered.
    payment_key     text UNIQUE,
    amount          bigint NOT NULL CHECK (amount > 0),
    -- Refunds the PG confirmed. Money: refunds <= paid.
    refunded_amount bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    state           text NOT NULL CHECK (state IN
                        ('READY', 'PAID', 'FAILED', 'CANCELLED', 'PARTIALLY_REFUNDED', 'REFUNDED')),
    checkout_url    text NOT NULL DEFAULT '',
    method          text NOT NULL DEFAULT '',
    provider        text NOT NULL,
    failure_reason  text NOT NULL DEFAULT '',
    expires_at      timestamptz NOT NULL,
    paid_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- When the reconciler last compared this payment with the PG.
    checked_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'READY') = (paid_at IS NULL) OR state IN ('FAILED', 'CANCELLED'))
);

CREATE INDEX payment_ready ON payment (checked_at) WHERE state = 'READY';
CREATE INDEX payment_user ON payment (user_id, created_at DESC);
CREATE INDEX payment_paid_day ON payment (paid_at) WHERE paid_at IS NOT NULL;

-- Refunds. A PENDING row reserves its amount before the PG is called, so
-- concurrent refunds can never sum past what was paid; the PG call carries the
-- refund id as its idempotency key, so resolving a call whose answer was lost
-- (read the PG, or repeat the call) never refunds twice.
CREATE TABLE refund (
    id          uuid PRIMARY KEY,
    payment_id  uuid NOT NULL REFERENCES payment (id),
    -- What makes a repeat the same refund: the amount asked for, or "all".
    request_key text NOT NULL,
    amount      bigint NOT NULL CHECK (amount > 0),
    reason      text NOT NULL,
    state       text NOT NULL CHECK (state IN ('PENDING', 'DONE', 'REFUSED')),
    pg_cancellation_id text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    refunded_at timestamptz,
    UNIQUE (payment_id, request_key)
);

CREATE INDEX refund_pending ON refund (created_at) WHERE state = 'PENDING';
CREATE INDEX refund_done_day ON refund (refunded_at) WHERE state = 'DONE';

-- Settlement: per Asia/Seoul day and host. A day's rows are replaced as a
-- whole when it is settled again, so rerunning a day never adds.
CREATE TABLE settlement_line (
    day           date NOT NULL,
    host_id       uuid NOT NULL,
    payment_count integer NOT NULL,
    paid          bigint NOT NULL,
    refunded      bigint NOT NULL,
    net           bigint NOT NULL,
    fee           bigint NOT NULL,
    payout        bigint NOT NULL,
    PRIMARY KEY (day, host_id)
);

-- Which days have been settled, and when.
CREATE TABLE settlement_day (
    day        date PRIMARY KEY,
    settled_at timestamptz NOT NULL DEFAULT now()
);
