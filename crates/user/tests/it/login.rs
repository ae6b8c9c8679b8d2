//! Log-in: no user enumeration, and the brute-force limit per account and
//! per client address.

use std::time::Duration;

use staymesh_proto::user as pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

#[tokio::test]
async fn a_failed_log_in_never_tells_whether_the_email_exists() {
    let mut app = spawn().await;
    let known = email("known");
    app.sign_up(&known).await;
    let wrong_password = app
        .log_in(&known, "wrong-password-1")
        .await
        .expect_err("wrong");
    let unknown_email = app
        .log_in(&email("nobody"), "wrong-password-1")
        .await
        .expect_err("unknown");
    assert_eq!(wrong_password.code(), Code::Unauthenticated);
    assert_eq!(unknown_email.code(), Code::Unauthenticated);
    assert_eq!(wrong_password.message(), unknown_email.message());
    assert_eq!(
        format!("{:?}", wrong_password.details()),
        format!("{:?}", unknown_email.details())
    );

    // The right password, in any case of the email, works.
    let ok = app
        .log_in(&known.to_uppercase(), PASSWORD)
        .await
        .expect("log in");
    assert_eq!(ok.user.expect("user").email, known);

    let empty = app.log_in("", "").await.expect_err("empty");
    assert_eq!(violated_fields(&empty), ["email", "password"]);
    app.stop().await;
}

/// Waits until `log_in` is let through again, at most `limit`.
async fn wait_until_allowed(app: &mut App, email: &str, limit: Duration) -> Duration {
    let started = tokio::time::Instant::now();
    loop {
        match app.log_in(email, PASSWORD).await {
            Ok(_) => return started.elapsed(),
            Err(status) => assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}"),
        }
        assert!(started.elapsed() < limit, "still refused after {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn failures_per_account_lock_it_until_the_window_ends() {
    let mut app = spawn_with(|o| {
        o.user.login_max_failures = 3;
        o.user.login_failure_window = Duration::from_secs(2);
    })
    .await;
    let victim = email("victim");
    app.sign_up(&victim).await;

    for _ in 0..3 {
        let status = app
            .log_in(&victim, "guess-number-1")
            .await
            .expect_err("wrong");
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    // The limit is reached: even the right password is refused, before any check.
    let limited = app.log_in(&victim, PASSWORD).await.expect_err("limited");
    assert_eq!(limited.code(), Code::ResourceExhausted);
    let retry_after: u64 = limited
        .metadata()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("retry-after seconds");
    assert!((1..=2).contains(&retry_after), "retry-after {retry_after}");
    let retry_info = limited.get_details_retry_info().expect("RetryInfo detail");
    assert!(retry_info.retry_delay.expect("delay") <= Duration::from_secs(2));

    // Unknown emails are limited the same way, so the limit reveals nothing.
    let ghost = email("ghost");
    for _ in 0..3 {
        app.log_in(&ghost, "guess-number-1")
            .await
            .expect_err("wrong");
    }
    assert_eq!(
        app.log_in(&ghost, "guess")
            .await
            .expect_err("limited")
            .code(),
        Code::ResourceExhausted
    );

    // When the window ends, the account can log in again.
    let waited = wait_until_allowed(&mut app, &victim, Duration::from_secs(5)).await;
    assert!(
        waited <= Duration::from_secs(retry_after + 1),
        "waited {waited:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_successful_log_in_resets_the_account_count() {
    let mut app = spawn_with(|o| o.user.login_max_failures = 3).await;
    let user = email("forgetful");
    app.sign_up(&user).await;
    for _round in 0..3 {
        for _ in 0..2 {
            app.log_in(&user, "not-my-password-1")
                .await
                .expect_err("wrong");
        }
        app.log_in(&user, PASSWORD)
            .await
            .expect("still under the limit");
    }
    app.stop().await;
}

#[tokio::test]
async fn parallel_guesses_cannot_slip_past_the_limit() {
    let mut app = spawn_with(|o| o.user.login_max_failures = 5).await;
    let victim = email("burst");
    app.sign_up(&victim).await;
    let guesses = (0..40).map(|i| {
        let mut api = app.api.clone();
        let victim = victim.clone();
        async move {
            api.log_in(pb::LogInRequest {
                email: victim,
                password: format!("guess-number-{i}"),
            })
            .await
        }
    });
    let results = futures::future::join_all(guesses).await;
    let checked = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::Unauthenticated))
        .count();
    let limited = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::ResourceExhausted))
        .count();
    assert_eq!((checked, limited), (5, 35), "only 5 passwords may be tried");
    app.stop().await;
}

#[tokio::test]
async fn failures_per_client_address_span_accounts() {
    let mut app = spawn_with(|o| {
        o.user.login_max_failures = 100;
        o.user.login_max_failures_per_address = 4;
    })
    .await;
    let from = |address: &str, email: &str| {
        let mut request = tonic::Request::new(pb::LogInRequest {
            email: email.into(),
            password: "spray-password-1".into(),
        });
        request
            .metadata_mut()
            .insert("x-forwarded-for", address.parse().expect("ascii"));
        request
    };
    // A password spray: one guess each at many accounts from one address.
    for i in 0..4 {
        let status = app
            .api
            .log_in(from("203.0.113.7", &email(&format!("spray{i}"))))
            .await
            .expect_err("wrong");
        assert_eq!(status.code(), Code::Unauthenticated);
    }
    let limited = app
        .api
        .log_in(from("203.0.113.7", &email("spray-next")))
        .await
        .expect_err("limited");
    assert_eq!(limited.code(), Code::ResourceExhausted);
    // Another address is not affected.
    let other = app
        .api
        .log_in(from("198.51.100.1", &email("spray-next")))
        .await
        .expect_err("wrong");
    assert_eq!(other.code(), Code::Unauthenticated);
    app.stop().await;
}
