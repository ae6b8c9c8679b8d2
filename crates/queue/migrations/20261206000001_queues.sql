-- The waiting rooms' settings. Redis holds each line and its live counts;
-- this is the durable copy of how each queue admits, written back to Redis
-- by every replica's ticker (so a Redis that lost its keys gets them again).

CREATE TABLE queue_config (
    event_id              uuid PRIMARY KEY,
    active                boolean NOT NULL,
    admit_per_second      integer NOT NULL CHECK (admit_per_second BETWEEN 1 AND 10000),
    admission_ttl_seconds integer NOT NULL CHECK (admission_ttl_seconds BETWEEN 10 AND 3600),
    -- 0: no cap beyond the rate.
    max_admitted          integer NOT NULL CHECK (max_admitted >= 0),
    updated_by            text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
