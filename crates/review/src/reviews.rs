//! Reviews and the rating aggregate. Every change to a review that counts
//! (created, re-rated, hidden, shown, deleted) moves the property's
//! `property_rating` row in the same transaction, under that row's lock, and
//! writes `PropertyRatingChanged` to the outbox there too: the aggregate is
//! always a recount, and the accommodation service hears of every version.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use staymesh_platform::auth::Caller;
use staymesh_platform::convert::timestamp;
use staymesh_platform::kafka::outbox;
use staymesh_platform::rpc::{Error, Result};
use staymesh_proto::review as pb;
use staymesh_proto::saga::PropertyRatingChanged;
use uuid::Uuid;

use crate::directory::{Directory, Stay};
use crate::images::Images;

/// Reviews, their stays and their aggregates.
#[derive(Debug, Clone)]
pub(crate) struct Reviews {
    pub(crate) pool: PgPool,
    /// `<prefix>.review.events`, where PropertyRatingChanged goes.
    pub(crate) events_topic: String,
    /// How long after a stay it may be reviewed.
    pub(crate) window: Duration,
    pub(crate) directory: Arc<dyn Directory>,
    pub(crate) images: Images,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ReviewRow {
    pub(crate) id: Uuid,
    pub(crate) booking_id: Uuid,
    pub(crate) property_id: Uuid,
    pub(crate) room_type_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) author_name: String,
    pub(crate) rating: i16,
    pub(crate) text: String,
    pub(crate) hidden: bool,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, booking_id, property_id, room_type_id, user_id, author_name, \
     rating, text, hidden, created_at, updated_at";

impl ReviewRow {
    pub(crate) fn to_proto(&self) -> pb::Review {
        pb::Review {
            review_id: self.id.to_string(),
            booking_id: self.booking_id.to_string(),
            property_id: self.property_id.to_string(),
            room_type_id: self.room_type_id.to_string(),
            user_id: self.user_id.to_string(),
            author_name: self.author_name.clone(),
            rating: i32::from(self.rating),
            text: self.text.clone(),
            images: Vec::new(),
            created_at: Some(timestamp(self.created_at)),
            updated_at: Some(timestamp(self.updated_at)),
            hidden: self.hidden,
        }
    }

    /// Whether `caller` may see it (hidden ones: the author and admins).
    fn visible_to(&self, caller: Option<&Caller>) -> bool {
        !self.hidden
            || caller.is_some_and(|c| c.is_admin() || c.user_id == self.user_id.to_string())
    }

    /// Whether it counts in the property's rating.
    fn counts(&self) -> bool {
        !self.hidden
    }
}

/// What a new review says, already checked field by field.
#[derive(Debug, Clone)]
pub(crate) struct NewReview {
    pub(crate) booking_id: Uuid,
    pub(crate) rating: i16,
    pub(crate) text: String,
    /// Uploads to attach, in order.
    pub(crate) images: Vec<Uuid>,
}

/// A property's counts by rating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct Tally {
    pub(crate) r1: i32,
    pub(crate) r2: i32,
    pub(crate) r3: i32,
    pub(crate) r4: i32,
    pub(crate) r5: i32,
    pub(crate) version: i64,
}

impl Tally {
    pub(crate) fn count(&self) -> i32 {
        self.r1 + self.r2 + self.r3 + self.r4 + self.r5
    }

    /// The mean rating, 0 with no reviews.
    pub(crate) fn average(&self) -> f64 {
        let count = self.count();
        if count == 0 {
            return 0.0;
        }
        let sum = self.r1 + 2 * self.r2 + 3 * self.r3 + 4 * self.r4 + 5 * self.r5;
        f64::from(sum) / f64::from(count)
    }

    pub(crate) fn by_rating(&self) -> [(i32, i32); 5] {
        [
            (1, self.r1),
            (2, self.r2),
            (3, self.r3),
            (4, self.r4),
            (5, self.r5),
        ]
    }
}

/// Moves one review of `rating` into (`+1`) or out of (`-1`) the property's
/// counts, and announces the new aggregate.
async fn count(
    conn: &mut PgConnection,
    topic: &str,
    property_id: Uuid,
    rating: i16,
    delta: i32,
) -> Result<()> {
    let column = match rating {
        1 => "r1",
        2 => "r2",
        3 => "r3",
        4 => "r4",
        _ => "r5",
    };
    let tally: Tally = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        // The row a first review creates; CHECK constraints apply to it even
        // when the conflict turns the insert into the update.
        "INSERT INTO property_rating (property_id, {column}, version) VALUES ($1, GREATEST($2, 0), 1) \
         ON CONFLICT (property_id) DO UPDATE \
           SET {column} = property_rating.{column} + $2, version = property_rating.version + 1 \
         RETURNING r1, r2, r3, r4, r5, version"
    )))
    .bind(property_id)
    .bind(delta)
    .fetch_one(&mut *conn)
    .await?;
    let event = PropertyRatingChanged {
        property_id: property_id.to_string(),
        rating: tally.average(),
        review_count: tally.count(),
        version: tally.version,
    };
    outbox::enqueue(conn, topic, &event.property_id, &event).await?;
    Ok(())
}

impl Reviews {
    /// The stay of `booking_id`, as the events told or (when the review
    /// comes first) as the booking service tells the caller.
    async fn stay(&self, booking_id: Uuid, authorization: &str) -> Result<Option<Stay>> {
        let known: Option<(Uuid, Uuid, Uuid, DateTime<Utc>)> = sqlx::query_as(
            "SELECT user_id, property_id, room_type_id, completed_at FROM stay WHERE booking_id = $1",
        )
        .bind(booking_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some((user_id, property_id, room_type_id, completed_at)) = known {
            return Ok(Some(Stay {
                booking_id,
                user_id,
                property_id,
                room_type_id,
                completed_at,
            }));
        }
        let asked = self
            .directory
            .completed_stay(booking_id, authorization)
            .await?;
        if let Some(stay) = &asked {
            record_stay(&self.pool, stay).await?;
        }
        Ok(asked)
    }

    pub(crate) async fn create(
        &self,
        caller: &Caller,
        authorization: &str,
        new: NewReview,
    ) -> Result<ReviewRow> {
        let user = caller.id()?;
        // One answer for "no such booking", "not yours" and "not completed":
        // nothing to tell about other people's stays.
        let stay = self
            .stay(new.booking_id, authorization)
            .await?
            .filter(|s| s.user_id == user)
            .ok_or_else(|| {
                Error::Precondition(format!(
                    "booking {} is not a completed stay of yours",
                    new.booking_id
                ))
            })?;
        let closes = stay.completed_at
            + chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::days(30));
        if Utc::now() > closes {
            return Err(Error::Precondition(format!(
                "the stay can no longer be reviewed: its review window closed at {closes}"
            )));
        }
        self.images.check(user, None, &new.images).await?;
        let author_name = self.directory.author_name(authorization).await?;
        let mut tx = self.pool.begin().await?;
        let inserted: Option<ReviewRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO review (id, booking_id, property_id, room_type_id, user_id, author_name, \
               rating, text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (booking_id) DO NOTHING RETURNING {COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(stay.booking_id)
        .bind(stay.property_id)
        .bind(stay.room_type_id)
        .bind(user)
        .bind(author_name)
        .bind(new.rating)
        .bind(&new.text)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            return Err(Error::AlreadyExists(format!(
                "booking {} already has a review; update it instead",
                new.booking_id
            )));
        };
        Images::attach(&mut tx, user, row.id, &new.images).await?;
        count(&mut tx, &self.events_topic, row.property_id, row.rating, 1).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Reviews on the wire, each with its images.
    pub(crate) async fn render(&self, rows: &[ReviewRow]) -> Result<Vec<pb::Review>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut images = self.images.by_review(&ids).await?;
        Ok(rows
            .iter()
            .map(|row| pb::Review {
                images: images.remove(&row.id).unwrap_or_default(),
                ..row.to_proto()
            })
            .collect())
    }

    /// One review on the wire.
    pub(crate) async fn render_one(&self, row: &ReviewRow) -> Result<pb::Review> {
        let mut one = self.render(std::slice::from_ref(row)).await?;
        one.pop()
            .ok_or_else(|| Error::not_found("review", row.id.to_string()))
    }

    /// The review, if `caller` may see it.
    pub(crate) async fn get(&self, id: Uuid, caller: Option<&Caller>) -> Result<ReviewRow> {
        let row: Option<ReviewRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM review WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.filter(|r| r.visible_to(caller))
            .ok_or_else(|| Error::not_found("review", id.to_string()))
    }

    /// Locks the review for a change by `caller`: its author, or an admin
    /// where `admin_may`. Someone else's is NOT_FOUND.
    async fn lock(
        conn: &mut PgConnection,
        id: Uuid,
        caller: &Caller,
        admin_may: bool,
    ) -> Result<ReviewRow> {
        let row: Option<ReviewRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM review WHERE id = $1 FOR UPDATE"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let row = row.ok_or_else(|| Error::not_found("review", id.to_string()))?;
        let mine = row.user_id.to_string() == caller.user_id;
        if mine || (admin_may && caller.is_admin()) {
            Ok(row)
        } else if row.visible_to(Some(caller)) {
            Err(Error::PermissionDenied(
                "only the review's author may change it".into(),
            ))
        } else {
            Err(Error::not_found("review", id.to_string()))
        }
    }

    /// Changes the rating and/or the text of the caller's review.
    pub(crate) async fn update(
        &self,
        caller: &Caller,
        id: Uuid,
        rating: Option<i16>,
        text: Option<String>,
        images: Option<Vec<Uuid>>,
    ) -> Result<ReviewRow> {
        let user = caller.id()?;
        if let Some(images) = &images {
            self.images.check(user, Some(id), images).await?;
        }
        let mut tx = self.pool.begin().await?;
        let before = Self::lock(&mut tx, id, caller, false).await?;
        let after: ReviewRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE review SET rating = COALESCE($2, rating), text = COALESCE($3, text), \
               updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(rating)
        .bind(text)
        .fetch_one(&mut *tx)
        .await?;
        if before.counts() && before.rating != after.rating {
            count(
                &mut tx,
                &self.events_topic,
                before.property_id,
                before.rating,
                -1,
            )
            .await?;
            count(
                &mut tx,
                &self.events_topic,
                after.property_id,
                after.rating,
                1,
            )
            .await?;
        }
        let dropped = match &images {
            Some(images) => Images::attach(&mut tx, user, id, images).await?,
            None => Vec::new(),
        };
        tx.commit().await?;
        self.images.discard(&dropped).await?;
        Ok(after)
    }

    /// Deletes the caller's review (any, for an admin).
    pub(crate) async fn delete(&self, caller: &Caller, id: Uuid) -> Result<ReviewRow> {
        let mut tx = self.pool.begin().await?;
        let row = Self::lock(&mut tx, id, caller, true).await?;
        let images = Images::of(&mut tx, id).await?;
        sqlx::query("DELETE FROM review WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if row.counts() {
            count(&mut tx, &self.events_topic, row.property_id, row.rating, -1).await?;
        }
        tx.commit().await?;
        self.images.discard(&images).await?;
        Ok(row)
    }

    /// Hides or shows a review (admins; the caller's role was checked).
    pub(crate) async fn hide(&self, caller: &Caller, id: Uuid, hidden: bool) -> Result<ReviewRow> {
        let mut tx = self.pool.begin().await?;
        let before = Self::lock(&mut tx, id, caller, true).await?;
        if before.hidden == hidden {
            return Ok(before);
        }
        let after: ReviewRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE review SET hidden = $2 WHERE id = $1 RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(hidden)
        .fetch_one(&mut *tx)
        .await?;
        let delta = if hidden { -1 } else { 1 };
        count(
            &mut tx,
            &self.events_topic,
            after.property_id,
            after.rating,
            delta,
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A property's counts (all zero without reviews).
    pub(crate) async fn tally(&self, property_id: Uuid) -> Result<Tally> {
        let tally: Option<Tally> = sqlx::query_as(
            "SELECT r1, r2, r3, r4, r5, version FROM property_rating WHERE property_id = $1",
        )
        .bind(property_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(tally.unwrap_or_default())
    }

    /// A page of a property's visible reviews in `sort` order.
    pub(crate) async fn of_property(
        &self,
        property_id: Uuid,
        room_type_id: Option<Uuid>,
        sort: pb::ReviewSort,
        with_images: bool,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ReviewRow>> {
        let order = match sort {
            pb::ReviewSort::RatingHigh => "rating DESC, created_at DESC, id DESC",
            pb::ReviewSort::RatingLow => "rating ASC, created_at DESC, id DESC",
            _ => "created_at DESC, id DESC",
        };
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM review WHERE property_id = $1 AND NOT hidden \
               AND ($2::uuid IS NULL OR room_type_id = $2) \
               AND (NOT $5 OR EXISTS (SELECT 1 FROM image_upload i WHERE i.review_id = review.id)) \
             ORDER BY {order} LIMIT $3 OFFSET $4"
        )))
        .bind(property_id)
        .bind(room_type_id)
        .bind(limit)
        .bind(offset)
        .bind(with_images)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A page of the caller's reviews, newest first (hidden ones too).
    pub(crate) async fn of_user(
        &self,
        user: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ReviewRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM review WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        )))
        .bind(user)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Remembers a completed stay (idempotent: a redelivered event changes nothing).
pub(crate) async fn record_stay(pool: &PgPool, stay: &Stay) -> Result<()> {
    sqlx::query(
        "INSERT INTO stay (booking_id, user_id, property_id, room_type_id, completed_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (booking_id) DO NOTHING",
    )
    .bind(stay.booking_id)
    .bind(stay.user_id)
    .bind(stay.property_id)
    .bind(stay.room_type_id)
    .bind(stay.completed_at)
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn the_average_is_the_mean_of_the_counts() {
        let t = Tally {
            r1: 1,
            r2: 0,
            r3: 0,
            r4: 2,
            r5: 1,
            version: 4,
        };
        assert_eq!(t.count(), 4);
        assert!((t.average() - 3.5).abs() < 1e-9);
        assert_eq!(Tally::default().average(), 0.0);
    }
}
