-- The inbox: which messages each consumer has already applied. A handler
-- inserts (consumer, message_id) in the transaction of its effect
-- (staymesh_platform::kafka::inbox::try_begin); a redelivery conflicts and is skipped.
CREATE TABLE inbox (
    -- The consumer group or handler name, so several handlers in one
    -- database each apply a message once.
    consumer     text NOT NULL,
    message_id   uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

-- Pruning finds old entries by age.
CREATE INDEX inbox_processed_at ON inbox (processed_at);
