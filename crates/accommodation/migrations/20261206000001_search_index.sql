-- Every replica keeps an in-memory search index (crates/accommodation/src/index)
-- and follows the catalog through these notifications, sent at commit on
-- channel `accommodation_index`. Postgres stays the source of truth: a
-- notification only says what to read again. Items, comma-separated:
--   P<property id>                     reload the property, its room types, sales and nights
--   N<room type id> <first> <last>     reload these nights of the room type
--   *                                  reload everything
-- A payload must stay under 8000 bytes, hence the fallbacks for big changes.

CREATE FUNCTION notify_index(items text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF items IS NULL OR cardinality(items) = 0 THEN
        RETURN;
    END IF;
    IF length(array_to_string(items, ',')) > 7900 THEN
        PERFORM pg_notify('accommodation_index', '*');
    ELSE
        PERFORM pg_notify('accommodation_index', array_to_string(items, ','));
    END IF;
END $$;

-- Nights: one statement-level trigger per event, over the rows it changed.
-- Up to 60 room types are named with their range; up to 150 properties by
-- id (a seed's batch); beyond that, everything.
CREATE FUNCTION night_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    room_types integer;
    items text[];
BEGIN
    SELECT count(DISTINCT room_type_id) INTO room_types FROM changed;
    IF room_types <= 60 THEN
        SELECT array_agg('N' || room_type_id || ' ' || first || ' ' || last)
        INTO items
        FROM (SELECT room_type_id, min(night) AS first, max(night) AS last
              FROM changed GROUP BY room_type_id) c;
    ELSE
        SELECT array_agg(DISTINCT 'P' || rt.property_id)
        INTO items
        FROM room_type rt WHERE rt.id IN (SELECT room_type_id FROM changed);
        IF cardinality(items) > 150 THEN
            items := ARRAY['*'];
        END IF;
    END IF;
    PERFORM notify_index(items);
    RETURN NULL;
END $$;

CREATE TRIGGER night_inserted AFTER INSERT ON night
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION night_changed();
CREATE TRIGGER night_updated AFTER UPDATE ON night
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION night_changed();

-- Properties, room types and time sales: the property to reload.
CREATE FUNCTION listing_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    items text[];
BEGIN
    IF TG_TABLE_NAME = 'property' THEN
        SELECT array_agg(DISTINCT 'P' || id) INTO items FROM changed;
    ELSE
        SELECT array_agg(DISTINCT 'P' || property_id) INTO items FROM changed;
    END IF;
    IF cardinality(items) > 150 THEN
        items := ARRAY['*'];
    END IF;
    PERFORM notify_index(items);
    RETURN NULL;
END $$;

CREATE TRIGGER property_inserted AFTER INSERT ON property
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION listing_changed();
CREATE TRIGGER property_updated AFTER UPDATE ON property
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION listing_changed();
CREATE TRIGGER room_type_inserted AFTER INSERT ON room_type
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION listing_changed();
CREATE TRIGGER room_type_updated AFTER UPDATE ON room_type
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION listing_changed();
CREATE TRIGGER time_sale_inserted AFTER INSERT ON time_sale
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION listing_changed();
CREATE TRIGGER time_sale_updated AFTER UPDATE ON time_sale
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION listing_changed();
