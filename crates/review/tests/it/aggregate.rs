//! The rating aggregate under concurrency: whatever mix of creates, edits,
//! hides and deletes races on one property, it equals a recount, and the
//! last PropertyRatingChanged announced says the same.

use chrono::Utc;
use futures::StreamExt;
use prost::Message as _;
use staymesh_proto::review as pb;
use uuid::Uuid;

use crate::support::*;

#[tokio::test]
async fn a_hundred_racing_reviews_and_edits_leave_the_aggregate_equal_to_a_recount() {
    const GUESTS: usize = 100;
    let app = spawn().await;
    let property = Uuid::now_v7();
    let guests: Vec<(String, Uuid)> = (0..GUESTS)
        .map(|_| {
            let (user, token) = guest();
            let done = stay(user, property, Utc::now());
            app.knows(&done);
            (token, done.booking_id)
        })
        .collect();
    let reviews: Vec<pb::Review> = futures::stream::iter(guests.iter().enumerate())
        .map(|(n, (token, booking))| {
            let app = &app;
            async move {
                let rating = i32::try_from(n % 5 + 1).unwrap();
                app.create(token, *booking, rating, "racing review text")
                    .await
                    .expect("create")
            }
        })
        .buffer_unordered(GUESTS)
        .collect()
        .await;
    // Everyone changes their review at once: a new rating, a hide by the
    // admin, a delete, or the rating twice.
    let by_id: std::collections::HashMap<String, String> = guests
        .iter()
        .map(|(token, booking)| (booking.to_string(), token.clone()))
        .collect();
    futures::stream::iter(reviews.iter().enumerate())
        .map(|(n, review)| {
            let mut api = app.api.clone();
            let token = by_id[&review.booking_id].clone();
            let id = review.review_id.clone();
            async move {
                let update = |rating: i32| {
                    authed(
                        pb::UpdateReviewRequest {
                            review_id: id.clone(),
                            rating,
                            ..Default::default()
                        },
                        &token,
                    )
                };
                match n % 4 {
                    0 => drop(
                        api.update_review(update(i32::try_from(n % 3 + 3).unwrap()))
                            .await
                            .expect("edit"),
                    ),
                    1 => drop(
                        api.hide_review(authed(
                            pb::HideReviewRequest {
                                review_id: id.clone(),
                                hidden: true,
                            },
                            ADMIN,
                        ))
                        .await
                        .expect("hide"),
                    ),
                    2 => drop(
                        api.delete_review(authed(
                            pb::DeleteReviewRequest {
                                review_id: id.clone(),
                            },
                            &token,
                        ))
                        .await
                        .expect("delete"),
                    ),
                    _ => {
                        let mut twin = api.clone();
                        let (a, b) = tokio::join!(
                            twin.update_review(update(1)),
                            api.update_review(update(5))
                        );
                        a.expect("edit");
                        b.expect("edit");
                    }
                }
            }
        })
        .buffer_unordered(GUESTS)
        .collect::<Vec<()>>()
        .await;

    let recount: Vec<(i16, i64)> = sqlx::query_as(
        "SELECT rating, count(*) FROM review WHERE property_id = $1 AND NOT hidden GROUP BY rating",
    )
    .bind(property)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let summary = app.summary(property).await;
    let counted: i64 = recount.iter().map(|(_, n)| n).sum();
    assert_eq!(i64::from(summary.count), counted);
    assert_eq!(counted, 50, "25 hidden and 25 deleted of 100");
    for (rating, n) in &recount {
        assert_eq!(
            i64::from(summary.distribution[&i32::from(*rating)]),
            *n,
            "rating {rating}"
        );
    }
    let sum: i64 = recount.iter().map(|(r, n)| i64::from(*r) * n).sum();
    assert!((summary.average - sum as f64 / counted as f64).abs() < 1e-9);

    // The newest announcement carries the same numbers.
    let payloads: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE key = $1 ORDER BY seq")
            .bind(property.to_string())
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let last = payloads.last().expect("announcements");
    let envelope = staymesh_proto::common::Envelope::decode(last.as_slice()).unwrap();
    let event =
        staymesh_proto::saga::PropertyRatingChanged::decode(envelope.payload.as_slice()).unwrap();
    assert_eq!(event.review_count, summary.count);
    assert!((event.rating - summary.average).abs() < 1e-9);
    assert_eq!(
        event.version,
        payloads.len() as i64,
        "one version per change"
    );
    app.stop().await;
}
