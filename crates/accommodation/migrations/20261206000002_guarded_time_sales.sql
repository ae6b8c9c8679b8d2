-- A time sale may put its bookings behind a waiting room (the queue
-- service's queue whose event id is the sale's id).
ALTER TABLE time_sale ADD COLUMN waiting_room boolean NOT NULL DEFAULT false;
