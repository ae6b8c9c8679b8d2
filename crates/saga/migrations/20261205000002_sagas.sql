-- Saga instances and their steps. Every change to a saga happens in one
-- transaction with the saga row locked, the commands it sends (outbox) and
-- the message that caused it (inbox), so a restarted orchestrator resumes
-- every unfinished saga exactly where it was.
CREATE TABLE saga (
    id               uuid PRIMARY KEY,
    booking_id       uuid NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('BOOKING', 'CANCELLATION')),
    state            text NOT NULL CHECK (state IN
                         ('RUNNING', 'AWAITING_PAYMENT', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'STUCK')),
    -- What the booking asked for (from BookingRequested).
    user_id          uuid NOT NULL,
    host_id          uuid NOT NULL,
    room_type_id     uuid NOT NULL,
    check_in         date NOT NULL,
    check_out        date NOT NULL,
    rooms            integer NOT NULL DEFAULT 1,
    user_coupon_id   uuid,
    points_requested bigint NOT NULL DEFAULT 0,
    price            bigint NOT NULL,
    order_name       text NOT NULL DEFAULT '',
    payment_due_at   timestamptz NOT NULL,
    -- What the steps produced.
    discount         bigint NOT NULL DEFAULT 0,
    points           bigint NOT NULL DEFAULT 0,
    payment_id       text NOT NULL DEFAULT '',
    checkout_url     text NOT NULL DEFAULT '',
    paid             boolean NOT NULL DEFAULT false,
    -- A cancellation saga's refund per the policy; what was refunded.
    refund_amount    bigint NOT NULL DEFAULT 0,
    refunded         bigint NOT NULL DEFAULT 0,
    -- Why it compensates (a CancelCause name) and in whose words.
    cause            text NOT NULL DEFAULT '',
    failure_reason   text NOT NULL DEFAULT '',
    -- The guest asked to cancel while a step was in flight.
    cancel_requested boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (booking_id, kind)
);
CREATE INDEX saga_created_idx ON saga (created_at DESC, id DESC);
CREATE INDEX saga_state_idx ON saga (state) WHERE finished_at IS NULL;

CREATE TABLE saga_step (
    saga_id     uuid NOT NULL REFERENCES saga (id),
    step        text NOT NULL,
    -- The order steps started in.
    seq         integer NOT NULL,
    state       text NOT NULL CHECK (state IN ('SENT', 'SUCCEEDED', 'FAILED', 'TIMED_OUT')),
    attempts    integer NOT NULL DEFAULT 0,
    -- Every command sent for the step: a reply to any of them counts (the
    -- participant acts once per booking, so they all mean the same).
    command_ids uuid[] NOT NULL DEFAULT '{}',
    reason      text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    -- While SENT: when to resend (or, waiting for payment, the deadline).
    deadline    timestamptz,
    PRIMARY KEY (saga_id, step)
);
-- The timer's scan: steps waiting past their deadline.
CREATE INDEX saga_step_due_idx ON saga_step (deadline) WHERE state = 'SENT';
