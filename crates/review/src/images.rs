//! Review images: a grant per upload (the declared type and size are
//! checked, and the upload URL allows only those), the check of each upload
//! when a review takes it (it exists, is within its size, and its bytes are
//! the image its type says: a file that lies is deleted and refused), and
//! the cleanup of uploads no review took within a day.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::{PgConnection, PgPool};
use staymesh_platform::Shutdown;
use staymesh_platform::convert::timestamp;
use staymesh_platform::media::{Grant, ImageType, MAX_IMAGE_BYTES};
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::review as pb;
use uuid::Uuid;

use crate::store::ObjectStore;

/// How long an upload URL may be used.
const UPLOAD_URL_LIFE: chrono::Duration = chrono::Duration::minutes(15);

/// Uploads and the store their files are in.
#[derive(Debug, Clone)]
pub(crate) struct Images {
    pub(crate) pool: PgPool,
    pub(crate) store: Arc<dyn ObjectStore>,
}

fn key(upload: Uuid) -> String {
    format!("reviews/{upload}")
}

fn io(error: std::io::Error) -> Error {
    Error::Infra(staymesh_platform::Error::Io(error))
}

impl Images {
    /// Grants `user` one upload of `content_type`, at most `length` bytes.
    pub(crate) async fn grant(
        &self,
        user: Uuid,
        content_type: &str,
        length: i64,
    ) -> Result<pb::CreateImageUploadResponse> {
        // The contract admits only these types and 1 byte to 10 MiB.
        let mime = ImageType::from_mime(content_type)
            .map(ImageType::mime)
            .ok_or_else(|| {
                Error::invalid(
                    "content_type",
                    "must be image/jpeg, image/png or image/webp",
                )
            })?;
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO image_upload (id, user_id, content_type, max_bytes) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(user)
        .bind(mime)
        .bind(length)
        .execute(&self.pool)
        .await?;
        let expires = Utc::now() + UPLOAD_URL_LIFE;
        let grant = Grant {
            key: key(id),
            content_type: mime.to_owned(),
            max_bytes: u64::try_from(length).unwrap_or(0),
            expires: expires.timestamp(),
        };
        Ok(pb::CreateImageUploadResponse {
            upload_id: id.to_string(),
            upload_url: self.store.upload_url(&grant),
            expires_at: Some(timestamp(expires)),
        })
    }

    /// Checks that each upload is `user`'s, free (or already `review`'s),
    /// uploaded and the image it claims; a lying file is deleted. Every
    /// problem names `image_upload_ids`.
    pub(crate) async fn check(&self, user: Uuid, review: Option<Uuid>, ids: &[Uuid]) -> Result<()> {
        let bad = |why: String| Err(Error::invalid("image_upload_ids", why));
        let rows: Vec<(Uuid, Uuid, String, i64, Option<Uuid>)> = sqlx::query_as(
            "SELECT id, user_id, content_type, max_bytes, review_id FROM image_upload WHERE id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        let found: HashMap<Uuid, _> = rows.into_iter().map(|r| (r.0, r)).collect();
        for id in ids {
            let Some((_, owner, declared, max, attached)) = found.get(id) else {
                return bad(format!("upload {id} does not exist (or was cleaned up)"));
            };
            if *owner != user {
                return bad(format!("upload {id} is not yours"));
            }
            if attached.is_some() && *attached != review {
                return bad(format!("upload {id} belongs to another review"));
            }
            if attached.is_some() {
                continue;
            }
            let Some((size, head)) = self.store.head(&key(*id)).await.map_err(io)? else {
                return bad(format!(
                    "upload {id} has no file yet: PUT it to its upload_url first"
                ));
            };
            let sniffed = ImageType::sniff(&head);
            let fits = i64::try_from(size).is_ok_and(|s| s <= *max) && size <= MAX_IMAGE_BYTES;
            if sniffed.map(ImageType::mime) != Some(declared.as_str()) || !fits {
                self.discard(&[*id]).await?;
                return bad(if fits {
                    format!("upload {id} is not the {declared} image it was declared as")
                } else {
                    format!("upload {id} is larger than the {max} bytes declared")
                });
            }
        }
        Ok(())
    }

    /// Gives `review` exactly `ids`, in order, within the review's
    /// transaction; returns the uploads it no longer has (to discard).
    pub(crate) async fn attach(
        conn: &mut PgConnection,
        user: Uuid,
        review: Uuid,
        ids: &[Uuid],
    ) -> Result<Vec<Uuid>> {
        let dropped: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE image_upload SET review_id = NULL, position = NULL \
             WHERE review_id = $1 AND NOT (id = ANY($2)) RETURNING id",
        )
        .bind(review)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
        for (position, id) in ids.iter().enumerate() {
            let taken = sqlx::query(
                "UPDATE image_upload SET review_id = $3, position = $4 \
                 WHERE id = $1 AND user_id = $2 AND (review_id IS NULL OR review_id = $3)",
            )
            .bind(id)
            .bind(user)
            .bind(review)
            .bind(i16::try_from(position).unwrap_or(i16::MAX))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if taken != 1 {
                return Err(Error::invalid(
                    "image_upload_ids",
                    format!("upload {id} was taken by another review meanwhile"),
                ));
            }
        }
        Ok(dropped)
    }

    /// The ids of the images of `review`.
    pub(crate) async fn of(conn: &mut PgConnection, review: Uuid) -> Result<Vec<Uuid>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM image_upload WHERE review_id = $1")
                .bind(review)
                .fetch_all(conn)
                .await?,
        )
    }

    /// Deletes uploads and their files.
    pub(crate) async fn discard(&self, ids: &[Uuid]) -> Result<()> {
        for id in ids {
            self.store.delete(&key(*id)).await.map_err(io)?;
        }
        sqlx::query("DELETE FROM image_upload WHERE id = ANY($1)")
            .bind(ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The images of each review, in order.
    pub(crate) async fn by_review(
        &self,
        reviews: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<pb::ReviewImage>>> {
        let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT review_id, id FROM image_upload WHERE review_id = ANY($1) ORDER BY review_id, position",
        )
        .bind(reviews)
        .fetch_all(&self.pool)
        .await?;
        let mut out: HashMap<Uuid, Vec<pb::ReviewImage>> = HashMap::new();
        for (review, id) in rows {
            out.entry(review).or_default().push(pb::ReviewImage {
                upload_id: id.to_string(),
                url: self.store.url(&key(id)),
            });
        }
        Ok(out)
    }

    /// Deletes uploads no review took within `ttl`, every `every`, until
    /// `shutdown`. Claims with SKIP LOCKED, so replicas share the work.
    pub(crate) async fn clean_up(self, every: Duration, ttl: Duration, shutdown: Shutdown) {
        while shutdown.sleep(every).await {
            match self.clean_up_once(ttl).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "unused review image uploads deleted"),
                Err(error) => tracing::warn!(%error, "cleaning up review image uploads failed"),
            }
        }
    }

    pub(crate) async fn clean_up_once(&self, ttl: Duration) -> Result<u64> {
        let cutoff =
            Utc::now() - chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(1));
        let mut tx = self.pool.begin().await?;
        let stale: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM image_upload WHERE review_id IS NULL AND created_at < $1 \
             ORDER BY created_at LIMIT 500 FOR UPDATE SKIP LOCKED",
        )
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        for id in &stale {
            self.store.delete(&key(*id)).await.map_err(io)?;
        }
        sqlx::query("DELETE FROM image_upload WHERE id = ANY($1)")
            .bind(&stale)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(stale.len() as u64)
    }
}
