-- Coupons, first-come-first-served issuance events and the coupons users hold.

CREATE TABLE coupon (
    id                uuid PRIMARY KEY,
    name              text NOT NULL,
    description       text NOT NULL DEFAULT '',
    discount_type     text NOT NULL CHECK (discount_type IN ('PERCENT', 'AMOUNT')),
    discount_percent  integer CHECK (discount_percent BETWEEN 1 AND 100),
    max_discount      bigint CHECK (max_discount > 0),
    discount_amount   bigint CHECK (discount_amount > 0),
    min_booking_price bigint CHECK (min_booking_price >= 0),
    max_booking_price bigint CHECK (max_booking_price >= 0),
    currency          text NOT NULL DEFAULT 'KRW',
    valid_from        timestamptz NOT NULL,
    valid_until       timestamptz NOT NULL,
    -- Only bookings of this host's properties; NULL means any host.
    host_id           text,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until > valid_from),
    CHECK (min_booking_price IS NULL OR max_booking_price IS NULL
           OR min_booking_price <= max_booking_price),
    CHECK ((discount_type = 'PERCENT' AND discount_percent IS NOT NULL AND discount_amount IS NULL)
        OR (discount_type = 'AMOUNT' AND discount_amount IS NOT NULL
            AND discount_percent IS NULL AND max_discount IS NULL))
);
CREATE INDEX coupon_host_idx ON coupon (host_id, id DESC);

CREATE TABLE issuance_event (
    id           uuid PRIMARY KEY,
    coupon_id    uuid NOT NULL REFERENCES coupon (id),
    -- NULL when unlimited.
    quantity     integer CHECK (quantity BETWEEN 1 AND 1000000),
    -- User coupons stored so far. Redis decides claims; this counter moves in
    -- the same transaction as the rows it counts, so the database itself
    -- refuses to hold more coupons than the quantity, whatever happens upstream.
    issued       integer NOT NULL DEFAULT 0 CHECK (quantity IS NULL OR issued <= quantity),
    opens_at     timestamptz NOT NULL,
    closes_at    timestamptz NOT NULL,
    waiting_room boolean NOT NULL DEFAULT false,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Closed early by its creator or an admin.
    closed_at    timestamptz,
    -- The last coupon was claimed (from Redis's answer).
    sold_out_at  timestamptz,
    -- When each state change was announced (Kafka event, webhook), so the
    -- scheduler announces each once however many replicas run it.
    announced_open_at  timestamptz,
    announced_ended_at timestamptz,
    CHECK (closes_at > opens_at)
);
CREATE INDEX issuance_event_open_idx ON issuance_event (closes_at) WHERE closed_at IS NULL;
CREATE INDEX issuance_event_coupon_idx ON issuance_event (coupon_id);

CREATE TABLE user_coupon (
    id          uuid PRIMARY KEY,
    event_id    uuid NOT NULL REFERENCES issuance_event (id),
    coupon_id   uuid NOT NULL REFERENCES coupon (id),
    user_id     text NOT NULL,
    state       text NOT NULL DEFAULT 'AVAILABLE'
                CHECK (state IN ('AVAILABLE', 'RESERVED', 'REDEEMED', 'EXPIRED')),
    -- The booking holding (RESERVED) or having used (REDEEMED) it.
    booking_id  text,
    -- The discount fixed when a booking reserved it.
    discount    bigint,
    issued_at   timestamptz NOT NULL,
    reserved_at timestamptz,
    redeemed_at timestamptz,
    -- At most one coupon per user per event: the batch writer's ON CONFLICT key.
    UNIQUE (event_id, user_id),
    CHECK ((state IN ('RESERVED', 'REDEEMED')) = (booking_id IS NOT NULL))
);
-- One coupon per booking.
CREATE UNIQUE INDEX user_coupon_booking_key ON user_coupon (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX user_coupon_user_idx ON user_coupon (user_id, issued_at DESC, id DESC);
