-- Properties, room types, the nightly calendar, holds and time sales.
-- Trigram indexes serve keyword search in Korean and English (the database is
-- created with a UTF-8 ctype, so Hangul makes trigrams).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE property (
    id             uuid PRIMARY KEY,
    host_id        text NOT NULL,
    name           text NOT NULL,
    region         text NOT NULL,
    address        text NOT NULL,
    description    text NOT NULL DEFAULT '',
    amenities      text[] NOT NULL DEFAULT '{}',
    image_urls     text[] NOT NULL DEFAULT '{}',
    check_in_time  text NOT NULL,
    check_out_time text NOT NULL,
    -- Kept up to date from review events (a later issue); 0 until then.
    rating         double precision NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 5),
    review_count   integer NOT NULL DEFAULT 0 CHECK (review_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX property_host_idx ON property (host_id, id DESC);
CREATE INDEX property_region_idx ON property (region);
CREATE INDEX property_name_trgm ON property USING gin (name gin_trgm_ops);
CREATE INDEX property_region_trgm ON property USING gin (region gin_trgm_ops);
CREATE INDEX property_description_trgm ON property USING gin (description gin_trgm_ops);

CREATE TABLE room_type (
    id              uuid PRIMARY KEY,
    property_id     uuid NOT NULL REFERENCES property (id),
    name            text NOT NULL,
    base_occupancy  integer NOT NULL CHECK (base_occupancy >= 1),
    max_occupancy   integer NOT NULL CHECK (max_occupancy >= base_occupancy),
    -- Minor units of KRW per extra guest per night.
    extra_guest_fee bigint NOT NULL DEFAULT 0 CHECK (extra_guest_fee >= 0),
    total_rooms     integer NOT NULL CHECK (total_rooms BETWEEN 1 AND 10000),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX room_type_property_idx ON room_type (property_id);

-- One row per room type and night. `held` are rooms reserved by bookings
-- awaiting payment, `sold` are paid. The CHECK is the last line against
-- overbooking: no code path can commit held + sold > total.
CREATE TABLE night (
    room_type_id uuid NOT NULL REFERENCES room_type (id),
    night        date NOT NULL,
    price        bigint NOT NULL CHECK (price >= 0),
    total        integer NOT NULL CHECK (total >= 0),
    held         integer NOT NULL DEFAULT 0 CHECK (held >= 0),
    sold         integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    closed       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (room_type_id, night),
    CONSTRAINT night_no_overbooking CHECK (held + sold <= total)
);

-- The nights of one booking. A release that arrives before its hold (a saga
-- compensating a timed-out command) leaves a RELEASED row with no nights, so
-- the late hold is refused instead of leaking rooms.
CREATE TABLE hold (
    booking_id   uuid PRIMARY KEY,
    room_type_id uuid REFERENCES room_type (id),
    check_in     date,
    check_out    date,
    rooms        integer NOT NULL CHECK (rooms >= 0),
    state        text NOT NULL CHECK (state IN ('HELD', 'CONFIRMED', 'RELEASED')),
    total_price  bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE time_sale (
    id               uuid PRIMARY KEY,
    property_id      uuid NOT NULL REFERENCES property (id),
    -- NULL: every room type of the property.
    room_type_id     uuid REFERENCES room_type (id),
    discount_percent integer NOT NULL CHECK (discount_percent BETWEEN 1 AND 90),
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX time_sale_property_idx ON time_sale (property_id, ends_at);

-- The one definition of sale pricing, shared by search, holds and the lowest
-- price: the best discount of the sales running at `at` on a room type.
CREATE FUNCTION active_sale_percent(p_room_type_id uuid, at timestamptz)
RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT COALESCE(max(ts.discount_percent), 0)
    FROM time_sale ts
    JOIN room_type rt ON rt.property_id = ts.property_id
    WHERE rt.id = p_room_type_id
      AND (ts.room_type_id IS NULL OR ts.room_type_id = rt.id)
      AND ts.starts_at <= at AND at < ts.ends_at
$$;

-- A nightly price after a percentage discount, rounded down to the won.
CREATE FUNCTION sale_price(price bigint, percent integer)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT price * (100 - percent) / 100
$$;
