-- Bookings and their state machine. The saga moves a booking from PENDING to
-- CONFIRMED or CANCELLED through the booking's commands; the completion job
-- moves CONFIRMED stays to COMPLETED after check-out.
CREATE TABLE booking (
    id              uuid PRIMARY KEY,
    saga_id         uuid NOT NULL UNIQUE,
    user_id         uuid NOT NULL,
    property_id     uuid NOT NULL,
    host_id         uuid NOT NULL,
    room_type_id    uuid NOT NULL,
    check_in        date NOT NULL,
    check_out       date NOT NULL CHECK (check_out > check_in),
    guests          integer NOT NULL CHECK (guests >= 1),
    state           text NOT NULL CHECK (state IN
                        ('PENDING', 'AWAITING_PAYMENT', 'CONFIRMED', 'CANCELLING', 'CANCELLED', 'COMPLETED')),
    currency        text NOT NULL DEFAULT 'KRW',
    -- Money: paid_amount = price - discount - points.
    price           bigint NOT NULL CHECK (price >= 0),
    discount        bigint NOT NULL DEFAULT 0 CHECK (discount >= 0),
    points          bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    paid_amount     bigint NOT NULL CHECK (paid_amount >= 0),
    user_coupon_id  uuid,
    payment_id      uuid,
    checkout_url    text NOT NULL DEFAULT '',
    payment_due_at  timestamptz NOT NULL,
    cancel_cause    text NOT NULL DEFAULT '',
    cancel_reason   text NOT NULL DEFAULT '',
    refunded_amount bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= paid_amount),
    idempotency_key text NOT NULL,
    -- The first request under the key: a retry must ask for the same booking.
    request_hash    bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    confirmed_at    timestamptz,
    cancelled_at    timestamptz,
    completed_at    timestamptz,
    CHECK (paid_amount = price - discount - points),
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX booking_user_idx ON booking (user_id, created_at DESC, id DESC);
CREATE INDEX booking_property_idx ON booking (property_id, check_in, id);
-- The completion job's scan: confirmed stays by check-out.
CREATE INDEX booking_confirmed_checkout_idx ON booking (check_out) WHERE state = 'CONFIRMED';

-- Every change of a booking wakes its watchers (WatchBooking), on every
-- replica: the payload is the booking id.
CREATE FUNCTION booking_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('staymesh_booking', NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER booking_changed AFTER INSERT OR UPDATE ON booking
    FOR EACH ROW EXECUTE FUNCTION booking_changed();

-- The cancellation policy, in data: the first rule (most days first) whose
-- min_days_before the days left before check-in reach applies.
CREATE TABLE cancellation_rule (
    min_days_before integer PRIMARY KEY CHECK (min_days_before >= 0),
    refund_percent  integer NOT NULL CHECK (refund_percent BETWEEN 0 AND 100),
    label           text NOT NULL
);
INSERT INTO cancellation_rule (min_days_before, refund_percent, label) VALUES
    (7, 100, 'full refund 7 or more days before check-in'),
    (3, 50, '50% refund 3 to 6 days before check-in'),
    (0, 0, 'no refund within 2 days of check-in');
