-- Images of reviews: each upload the review service granted, until a review
-- takes it (or the cleanup deletes it a day later, with its file).
CREATE TABLE image_upload (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL,
    -- What the uploader declared; the bytes must agree when attached.
    content_type text NOT NULL,
    max_bytes    bigint NOT NULL,
    review_id    uuid REFERENCES review (id) ON DELETE CASCADE,
    position     smallint,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX image_upload_review ON image_upload (review_id, position) WHERE review_id IS NOT NULL;
CREATE INDEX image_upload_unattached ON image_upload (created_at) WHERE review_id IS NULL;
