//! Review images: what an upload may be, what a review may take, and what
//! happens to uploads nobody took.

use std::time::Duration;

use chrono::Utc;
use staymesh_proto::review as pb;
use tonic::Code;
use uuid::Uuid;

use crate::support::*;

/// The first bytes of a PNG, then some data.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff";

#[tokio::test]
async fn a_review_takes_only_its_authors_uploads_that_are_the_images_they_claim() {
    let app = spawn().await;
    let (user, token) = guest();
    let (_, stranger) = guest();
    let done = stay(user, Uuid::now_v7(), Utc::now());
    app.knows(&done);

    // What may be uploaded.
    let bad = app
        .upload_grant(&token, "image/gif", 100)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), ["content_type"]);
    let bad = app
        .upload_grant(&token, "image/png", 10 * 1024 * 1024 + 1)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), ["content_length"]);
    let grant = app.upload_grant(&token, "image/png", 1000).await.unwrap();
    assert!(grant.upload_url.contains(&grant.upload_id), "{grant:?}");
    assert!(grant.upload_url.contains("sig="), "{grant:?}");

    // Not uploaded yet; someone else's; a GIF that says it is a PNG.
    let refused = app
        .create_with_images(&token, done.booking_id, &[&grant.upload_id])
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&refused),
        ["image_upload_ids"],
        "{refused:?}"
    );
    let theirs = app
        .upload_grant(&stranger, "image/png", 1000)
        .await
        .unwrap();
    app.put_file(&theirs.upload_id, PNG);
    let refused = app
        .create_with_images(&token, done.booking_id, &[&theirs.upload_id])
        .await
        .unwrap_err();
    assert!(refused.message().contains("not yours"), "{refused:?}");
    let liar = app.upload_grant(&token, "image/png", 1000).await.unwrap();
    app.put_file(&liar.upload_id, GIF);
    let refused = app
        .create_with_images(&token, done.booking_id, &[&liar.upload_id])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("not the image/png image"),
        "{refused:?}"
    );
    assert!(
        !app.file_exists(&liar.upload_id),
        "the lying file is deleted"
    );
    let big = app.upload_grant(&token, "image/png", 20).await.unwrap();
    app.put_file(&big.upload_id, &[PNG, &[0u8; 100]].concat());
    let refused = app
        .create_with_images(&token, done.booking_id, &[&big.upload_id])
        .await
        .unwrap_err();
    assert!(refused.message().contains("larger"), "{refused:?}");
    let six: Vec<String> = (0..6).map(|_| Uuid::now_v7().to_string()).collect();
    let six: Vec<&str> = six.iter().map(String::as_str).collect();
    let refused = app
        .create_with_images(&token, done.booking_id, &six)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&refused), ["image_upload_ids"]);
    let twice = app
        .create_with_images(
            &token,
            done.booking_id,
            &[&theirs.upload_id, &theirs.upload_id],
        )
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&twice), ["image_upload_ids"]);

    // Uploaded and true: taken, in order, with the URL browsers load it from.
    app.put_file(&grant.upload_id, PNG);
    let second = app.upload_grant(&token, "image/png", 1000).await.unwrap();
    app.put_file(&second.upload_id, PNG);
    let review = app
        .create_with_images(
            &token,
            done.booking_id,
            &[&second.upload_id, &grant.upload_id],
        )
        .await
        .expect("a review with two images");
    let ids: Vec<&str> = review.images.iter().map(|i| i.upload_id.as_str()).collect();
    assert_eq!(ids, [second.upload_id.as_str(), grant.upload_id.as_str()]);
    assert!(
        review.images[0]
            .url
            .ends_with(&format!("/media/reviews/{}", second.upload_id))
    );
    let listed = app
        .api
        .clone()
        .list_property_reviews(tonic::Request::new(pb::ListPropertyReviewsRequest {
            property_id: done.property_id.to_string(),
            with_images: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.reviews.len(), 1);
    assert_eq!(listed.reviews[0].images.len(), 2);

    // Replacing drops the other image with its file; deleting drops the rest.
    let replaced = app
        .api
        .clone()
        .update_review(authed(
            pb::UpdateReviewRequest {
                review_id: review.review_id.clone(),
                replace_images: true,
                image_upload_ids: vec![grant.upload_id.clone()],
                ..Default::default()
            },
            &token,
        ))
        .await
        .expect("replace")
        .into_inner()
        .review
        .unwrap();
    assert_eq!(replaced.images.len(), 1);
    assert!(!app.file_exists(&second.upload_id));
    app.api
        .clone()
        .delete_review(authed(
            pb::DeleteReviewRequest {
                review_id: review.review_id.clone(),
            },
            &token,
        ))
        .await
        .expect("delete");
    assert!(!app.file_exists(&grant.upload_id));
    app.stop().await;
}

#[tokio::test]
async fn uploads_no_review_takes_are_deleted_with_their_files() {
    let app = spawn_with(|args| {
        args.review_upload_ttl = Duration::from_secs(1);
        args.review_upload_cleanup_every = Duration::from_millis(200);
    })
    .await;
    let (user, token) = guest();
    let done = stay(user, Uuid::now_v7(), Utc::now());
    app.knows(&done);
    let kept = app.upload_grant(&token, "image/png", 1000).await.unwrap();
    app.put_file(&kept.upload_id, PNG);
    app.create_with_images(&token, done.booking_id, &[&kept.upload_id])
        .await
        .expect("review");
    let unused = app.upload_grant(&token, "image/png", 1000).await.unwrap();
    app.put_file(&unused.upload_id, PNG);
    let started = std::time::Instant::now();
    while app.file_exists(&unused.upload_id) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the unused upload was never deleted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM image_upload WHERE id = $1")
        .bind(Uuid::parse_str(&unused.upload_id).unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert!(app.file_exists(&kept.upload_id), "a review's image stays");
    app.stop().await;
}
