-- The review service's version of a property's rating: an event older than
-- what is stored (a redelivery) changes nothing.
ALTER TABLE property ADD COLUMN rating_version bigint NOT NULL DEFAULT 0;
