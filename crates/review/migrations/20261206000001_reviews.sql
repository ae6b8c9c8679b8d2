-- Reviews of completed stays, and the rating aggregate of each property.

-- Stays that may be reviewed, learned from the booking service's
-- BookingCompleted events (or asked of it when a review comes first).
CREATE TABLE stay (
    booking_id   uuid PRIMARY KEY,
    user_id      uuid NOT NULL,
    property_id  uuid NOT NULL,
    room_type_id uuid NOT NULL,
    -- The review window opens here (the stay was completed after check-out).
    completed_at timestamptz NOT NULL
);

CREATE TABLE review (
    id           uuid PRIMARY KEY,
    -- One review per stay.
    booking_id   uuid NOT NULL UNIQUE REFERENCES stay (booking_id),
    property_id  uuid NOT NULL,
    room_type_id uuid NOT NULL,
    user_id      uuid NOT NULL,
    author_name  text NOT NULL,
    rating       smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    text         text NOT NULL,
    -- Hidden by an admin: not listed, not counted.
    hidden       boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_property_newest ON review (property_id, created_at DESC, id DESC) WHERE NOT hidden;
CREATE INDEX review_property_rating ON review (property_id, rating, created_at DESC) WHERE NOT hidden;
CREATE INDEX review_user_newest ON review (user_id, created_at DESC, id DESC);

-- The visible reviews of a property, counted: changed in the transaction of
-- every change to them, under this row's lock, so it is always a recount.
CREATE TABLE property_rating (
    property_id uuid PRIMARY KEY,
    r1 integer NOT NULL DEFAULT 0 CHECK (r1 >= 0),
    r2 integer NOT NULL DEFAULT 0 CHECK (r2 >= 0),
    r3 integer NOT NULL DEFAULT 0 CHECK (r3 >= 0),
    r4 integer NOT NULL DEFAULT 0 CHECK (r4 >= 0),
    r5 integer NOT NULL DEFAULT 0 CHECK (r5 >= 0),
    -- Goes up with every change; the accommodation service applies only a
    -- newer one, so a redelivered event never rolls a rating back.
    version bigint NOT NULL DEFAULT 0
);
