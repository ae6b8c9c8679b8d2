-- Bookings whose coupon use was released (the saga compensating, or a cancel).
-- A ReserveCoupon for one of them that arrives later (a command resent after a
-- timeout, overtaken by its saga's release) is refused, as the accommodation
-- and point services refuse a late hold or reservation by their tombstones.
-- Without it a coupon could be reserved for a booking that is already dead.
CREATE TABLE released_booking (
    booking_id  text PRIMARY KEY,
    released_at timestamptz NOT NULL DEFAULT now()
);
