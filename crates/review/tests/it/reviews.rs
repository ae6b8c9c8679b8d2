//! Who may review what, and when; what authors and admins may change; how
//! lists read.

use std::time::Duration;

use chrono::Utc;
use staymesh_proto::review as pb;
use tonic::Code;
use uuid::Uuid;

use crate::support::*;

const TEXT: &str = "깨끗하고 조용한 숙소였어요. 다시 올게요!";

#[tokio::test]
async fn only_the_guest_of_a_completed_stay_reviews_it_once_within_the_window() {
    let app = spawn().await;
    let (guest_id, guest_token) = guest();
    let (_, other_token) = guest();
    let property = Uuid::now_v7();
    let recent = stay(guest_id, property, Utc::now() - chrono::Duration::days(2));
    let old = stay(guest_id, property, Utc::now() - chrono::Duration::days(31));
    app.completed(&recent).await;
    app.completed(&old).await;

    // The event arrives: the guest can review the recent stay.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let review = loop {
        match app.create(&guest_token, recent.booking_id, 4, TEXT).await {
            Ok(review) => break review,
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stay was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((review.rating, review.author_name.as_str()), (4, "손님"));
    assert_eq!(review.property_id, property.to_string());

    let twice = app
        .create(&guest_token, recent.booking_id, 5, TEXT)
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists, "{twice:?}");
    let not_theirs = app
        .create(&other_token, recent.booking_id, 5, TEXT)
        .await
        .unwrap_err();
    assert_eq!(
        not_theirs.code(),
        Code::FailedPrecondition,
        "{not_theirs:?}"
    );
    let never = app
        .create(&guest_token, Uuid::now_v7(), 5, TEXT)
        .await
        .unwrap_err();
    assert_eq!(never.code(), Code::FailedPrecondition, "{never:?}");
    // Until its event is recorded the old stay is unknown; then its window
    // has closed. Both are FAILED_PRECONDITION.
    loop {
        let late = app
            .create(&guest_token, old.booking_id, 5, TEXT)
            .await
            .unwrap_err();
        assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
        if late.message().contains("window closed") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old stay was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Bad fields, each named.
    let bad = app
        .create(&guest_token, recent.booking_id, 6, "짧아요")
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), ["rating", "text"]);
    let long = "가".repeat(2_001);
    let bad = app
        .create(&guest_token, recent.booking_id, 0, &long)
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), ["rating", "text"]);
    let bad = app
        .api
        .clone()
        .create_review(authed(
            pb::CreateReviewRequest {
                booking_id: "nope".into(),
                rating: 3,
                text: TEXT.into(),
                image_upload_ids: vec![],
            },
            &guest_token,
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), ["booking_id"]);
    let anonymous = app
        .api
        .clone()
        .create_review(tonic::Request::new(pb::CreateReviewRequest {
            booking_id: recent.booking_id.to_string(),
            rating: 5,
            text: TEXT.into(),
            image_upload_ids: vec![],
        }))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    app.stop().await;
}

#[tokio::test]
async fn a_review_written_before_its_event_arrives_is_checked_with_the_booking_service() {
    let app = spawn().await;
    let (guest_id, token) = guest();
    let done = stay(
        guest_id,
        Uuid::now_v7(),
        Utc::now() - chrono::Duration::hours(3),
    );
    app.knows(&done);
    let review = app
        .create(&token, done.booking_id, 5, TEXT)
        .await
        .expect("review");
    assert_eq!(review.booking_id, done.booking_id.to_string());
    app.stop().await;
}

#[tokio::test]
async fn authors_edit_and_delete_admins_hide_and_everyone_else_only_reads() {
    let app = spawn().await;
    let (guest_id, token) = guest();
    let (_, stranger) = guest();
    let property = Uuid::now_v7();
    let done = stay(guest_id, property, Utc::now());
    app.knows(&done);
    let review = app.create(&token, done.booking_id, 2, TEXT).await.unwrap();
    let id = review.review_id.clone();
    let update = |token: &str, rating: i32, text: &str| {
        let mut api = app.api.clone();
        let request = authed(
            pb::UpdateReviewRequest {
                review_id: id.clone(),
                rating,
                text: text.into(),
                ..Default::default()
            },
            token,
        );
        async move {
            api.update_review(request)
                .await
                .map(|r| r.into_inner().review.unwrap())
        }
    };
    let denied = update(&stranger, 5, "").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let updated = update(&token, 5, "").await.unwrap();
    assert_eq!(
        (updated.rating, updated.text.as_str()),
        (5, TEXT),
        "a blank text keeps the text"
    );
    assert_eq!(app.summary(property).await.average, 5.0);

    // Hidden: gone from the list and the rating; its author still sees it.
    let hide = |token: &str, hidden: bool| {
        let mut api = app.api.clone();
        let request = authed(
            pb::HideReviewRequest {
                review_id: id.clone(),
                hidden,
            },
            token,
        );
        async move { api.hide_review(request).await }
    };
    assert_eq!(
        hide(&token, true).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    hide(ADMIN, true).await.expect("admin hides");
    assert_eq!(app.summary(property).await.count, 0);
    assert!(
        app.list(property, pb::ReviewSort::Newest, 10, "")
            .await
            .reviews
            .is_empty()
    );
    let public = app
        .api
        .clone()
        .get_review(tonic::Request::new(pb::GetReviewRequest {
            review_id: id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(public.code(), Code::NotFound);
    let own = app
        .api
        .clone()
        .get_review(authed(
            pb::GetReviewRequest {
                review_id: id.clone(),
            },
            &token,
        ))
        .await
        .expect("the author sees it")
        .into_inner()
        .review
        .unwrap();
    assert!(own.hidden);
    hide(ADMIN, false).await.expect("shown again");
    assert_eq!(app.summary(property).await.count, 1);

    let delete = |token: &str| {
        let mut api = app.api.clone();
        let request = authed(
            pb::DeleteReviewRequest {
                review_id: id.clone(),
            },
            token,
        );
        async move { api.delete_review(request).await }
    };
    assert_eq!(
        delete(&stranger).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    delete(&token).await.expect("the author deletes");
    assert_eq!(app.summary(property).await.count, 0);
    assert_eq!(delete(&token).await.unwrap_err().code(), Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn a_property_lists_newest_highest_and_lowest_first_in_stable_pages() {
    let app = spawn().await;
    let property = Uuid::now_v7();
    let mut written = Vec::new();
    for rating in [3, 5, 1, 4, 2, 5, 3] {
        let (user, token) = guest();
        let done = stay(user, property, Utc::now());
        app.knows(&done);
        written.push(
            app.create(&token, done.booking_id, rating, TEXT)
                .await
                .unwrap(),
        );
    }
    let shared = &app;
    let all = |sort| async move {
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = shared.list(property, sort, 3, &token).await;
            seen.extend(page.reviews);
            if page.next_page_token.is_empty() {
                return seen;
            }
            token = page.next_page_token;
        }
    };
    let newest: Vec<String> = all(pb::ReviewSort::Newest)
        .await
        .into_iter()
        .map(|r| r.review_id)
        .collect();
    let expected: Vec<String> = written.iter().rev().map(|r| r.review_id.clone()).collect();
    assert_eq!(newest, expected);
    let high: Vec<i32> = all(pb::ReviewSort::RatingHigh)
        .await
        .iter()
        .map(|r| r.rating)
        .collect();
    assert_eq!(high, [5, 5, 4, 3, 3, 2, 1]);
    let low: Vec<i32> = all(pb::ReviewSort::RatingLow)
        .await
        .iter()
        .map(|r| r.rating)
        .collect();
    assert_eq!(low, [1, 2, 3, 3, 4, 5, 5]);
    let summary = app.summary(property).await;
    assert_eq!(summary.count, 7);
    assert!((summary.average - 23.0 / 7.0).abs() < 1e-9);
    assert_eq!(summary.distribution[&5], 2);
    app.stop().await;
}
