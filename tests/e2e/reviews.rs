//! A stay reviewed through the edge: once completed, its guest reviews it
//! (once), and the property's rating and review count, which search's
//! rating sort reads, follow within a bounded time.

use std::time::Duration;

use hyper::Method;
use serde_json::json;

use crate::booking_kit::*;
use crate::support::*;

/// How long the accommodation service may take to show a new rating.
const RATING_FOLLOWS: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_completed_stay_is_reviewed_once_and_the_property_rating_follows() {
    let media = std::env::temp_dir().join(format!("staymesh-e2e-media-{}", uuid::Uuid::now_v7()));
    let media_dir = media.to_string_lossy().into_owned();
    let (deployment, mut mesh) = mesh_with("10m", &[("STAYMESH_MEDIA_DIR", &media_dir)]).await;
    wait_serving(&deployment.url("review"), &mut mesh, SAGA).await;
    let edge = deployment.edge();
    let host = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let guest = login(&edge, "guest@staymesh.dev", "staymesh-guest-1").await;
    let (property, room) = listing_of_property(&edge, &host, 1, 80_000).await;
    let booking = book_and_pay(
        edge.clone(),
        guest.clone(),
        room,
        json!({}),
        Approval::MustSucceed,
    )
    .await;
    assert_eq!(booking["state"], "BOOKING_STATE_CONFIRMED", "{booking}");
    let id = booking["bookingId"].as_str().unwrap().to_owned();
    let review = |rating: i32, images: Vec<String>| {
        let (edge, guest, id) = (edge.clone(), guest.clone(), id.clone());
        async move {
            http(
                Method::POST,
                &format!("{edge}/v1/reviews"),
                Some(&guest),
                Some(json!({"bookingId": id, "rating": rating, "text": "바다가 보이는 방, 친절한 호스트.",
                    "imageUploadIds": images})),
            )
            .await
        }
    };
    // Not yet stayed: nothing to review.
    let early = review(4, vec![]).await;
    assert_eq!(early.status, 400, "{}", early.body);
    assert_eq!(early.json()["error"]["code"], "FAILED_PRECONDITION");

    // The stay is over (moved into the past, as time would) and completed.
    let bookings = database(&deployment, "booking").await;
    sqlx::query(
        "UPDATE booking SET check_in = current_date - 3, check_out = current_date - 1 WHERE id = $1",
    )
    .bind(uuid::Uuid::parse_str(&id).unwrap())
    .execute(&bookings)
    .await
    .unwrap();
    let round = deployment.run(&["booking", "complete"]).await;
    assert!(round.contains("completed 1 stay(s)"), "{round}");

    // A photo, uploaded by the browser straight to storage (the edge's
    // local store here) under the grant the review service signed.
    let granted = http(
        Method::POST,
        &format!("{edge}/v1/review-image-uploads"),
        Some(&guest),
        Some(json!({"contentType": "image/png", "contentLength": PNG.len().to_string()})),
    )
    .await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    let upload_id = granted.json()["uploadId"].as_str().unwrap().to_owned();
    let upload_url = granted.json()["uploadUrl"].as_str().unwrap().to_owned();
    let put = |url: String, content_type: &'static str| async move {
        http_raw(
            Method::PUT,
            &url,
            &[("content-type", content_type)],
            PNG.to_vec(),
        )
        .await
    };
    let forged = put(
        upload_url.replace(&format!("max={}", PNG.len()), "max=99999"),
        "image/png",
    )
    .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let mistyped = put(upload_url.clone(), "image/jpeg").await;
    assert_eq!(mistyped.status, 400, "{}", mistyped.body);
    let uploaded = put(upload_url, "image/png").await;
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);

    let written = review(4, vec![upload_id.clone()]).await;
    assert_eq!(written.status, 200, "{}", written.body);
    let image_url = written.json()["review"]["images"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let image = http(Method::GET, &image_url, None, None).await;
    assert_eq!(image.status, 200, "{image_url}");
    assert_eq!(image.headers["content-type"], "image/png");
    assert_eq!(&image.raw[..], PNG);
    assert_eq!(
        written.json()["review"]["authorName"],
        "Demo Guest",
        "{}",
        written.body
    );
    let again = review(5, vec![]).await;
    assert_eq!(again.status, 409, "{}", again.body);

    let started = std::time::Instant::now();
    staymesh_testkit::eventually(RATING_FOLLOWS, "the property's rating follows", || async {
        let read = http(
            Method::GET,
            &format!("{edge}/v1/properties/{property}"),
            None,
            None,
        )
        .await;
        read.json()["property"]["rating"] == 4.0 && read.json()["property"]["reviewCount"] == 1
    })
    .await;
    eprintln!("the rating followed in {:?}", started.elapsed());
    let summary = http(
        Method::GET,
        &format!("{edge}/v1/properties/{property}/rating-summary"),
        None,
        None,
    )
    .await;
    assert_eq!(summary.status, 200, "{}", summary.body);
    assert_eq!(summary.json()["count"], 1, "{}", summary.body);
    mesh.sigterm().await;
    mesh.wait().await;
    let _ = std::fs::remove_dir_all(media);
}

/// A 1x1 PNG's first bytes (the store checks only what the bytes say they are).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
