-- The transactional outbox: services insert a row in the same transaction as
-- the change it announces; the relay (staymesh_platform::kafka::outbox)
-- publishes unpublished rows to Kafka and stamps published_at.
CREATE TABLE outbox (
    -- The message id (UUIDv7), also the envelope id consumers dedupe on.
    id           uuid PRIMARY KEY,
    -- Claim order. An identity rather than the UUID, so replicas with skewed
    -- clocks still publish in insertion order.
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    topic        text NOT NULL,
    key          text NOT NULL,
    -- The encoded staymesh.common.v1.Envelope.
    payload      bytea NOT NULL,
    -- Kafka headers to send, chiefly the W3C trace context of the enqueuing span.
    headers      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

-- The relay scans only what is left to publish, so this stays small.
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
-- Pruning finds published rows by age.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Wake the relays on commit instead of making them poll. Statement-level, and
-- Postgres folds identical notifications of one transaction into one.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('staymesh_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify
    AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
