//! Sign-up rules, duplicate emails, and the profile calls.

use staymesh_proto::user as pb;
use tonic::Code;

use crate::support::*;

fn request(email: &str, password: &str, name: &str, phone: &str) -> pb::SignUpRequest {
    pb::SignUpRequest {
        email: email.into(),
        password: password.into(),
        name: name.into(),
        phone: phone.into(),
    }
}

#[tokio::test]
async fn each_sign_up_rule_names_its_field() {
    let mut app = spawn().await;
    let good = email("rules");
    let cases = [
        (request("", PASSWORD, "Kim", ""), "email"),
        (request("not-an-email", PASSWORD, "Kim", ""), "email"),
        (request("kim@localhost", PASSWORD, "Kim", ""), "email"),
        (request(&good, "", "Kim", ""), "password"),
        (request(&good, "Short1!", "Kim", ""), "password"),
        (
            request(&good, "onlylowercaseletters", "Kim", ""),
            "password",
        ),
        (request(&good, "12345678901234", "Kim", ""), "password"),
        (request(&good, &"aB3".repeat(50), "Kim", ""), "password"),
        (request(&good, PASSWORD, "", ""), "name"),
        (request(&good, PASSWORD, &"가".repeat(51), ""), "name"),
        (request(&good, PASSWORD, "Kim", "010-1234-5678"), "phone"),
    ];
    for (request, field) in cases {
        let status = app.api.sign_up(request.clone()).await.expect_err("refused");
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{request:?}: {status:?}"
        );
        assert_eq!(violated_fields(&status), [field], "{request:?}");
    }
    // All at once: every bad field is named.
    let status = app
        .api
        .sign_up(request("nope", "short", "", "12"))
        .await
        .expect_err("refused");
    assert_eq!(
        violated_fields(&status),
        ["email", "password", "name", "phone"]
    );
    // Nothing was stored by the refused calls.
    let (accounts,): (i64,) = sqlx::query_as("SELECT count(*) FROM app_user")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(accounts, 0);
    app.stop().await;
}

#[tokio::test]
async fn sign_up_makes_a_guest_and_logs_it_in() {
    let mut app = spawn().await;
    let address = email("Mixed.Case");
    let response = app
        .api
        .sign_up(request(&address, PASSWORD, "  김민수 ", "+821012345678"))
        .await
        .expect("sign up")
        .into_inner();
    let user = response.user.expect("user");
    assert_eq!(user.email, address.to_lowercase());
    assert_eq!(user.name, "김민수");
    assert_eq!(user.phone, "+821012345678");
    assert_eq!(user.roles, [pb::Role::Guest as i32]);
    let tokens = response.tokens.expect("tokens");
    assert_eq!(tokens.token_type, "Bearer");
    let me = app.me(&tokens.access_token).await.expect("me");
    assert_eq!(me.user_id, user.user_id);

    // The password is stored as an Argon2id hash, never as given.
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM app_user")
        .fetch_one(&app.pool)
        .await
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    app.stop().await;
}

#[tokio::test]
async fn emails_are_unique_whatever_their_case() {
    let mut app = spawn().await;
    let address = email("dup");
    app.sign_up(&address).await;
    for variant in [
        address.clone(),
        address.to_uppercase(),
        format!("  {address} "),
    ] {
        let status = app
            .api
            .sign_up(request(&variant, PASSWORD, "Kim", ""))
            .await
            .expect_err("duplicate");
        assert_eq!(status.code(), Code::AlreadyExists, "{variant}");
    }
    // Racing sign-ups of one email: exactly one account.
    let racer = email("race");
    let attempts = (0..8).map(|i| {
        let mut api = app.api.clone();
        let email = if i % 2 == 0 {
            racer.clone()
        } else {
            racer.to_uppercase()
        };
        async move { api.sign_up(request(&email, PASSWORD, "Kim", "")).await }
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|s| s.code() == Code::AlreadyExists)
    );
    app.stop().await;
}

#[tokio::test]
async fn profile_updates_keep_what_is_left_empty() {
    let mut app = spawn().await;
    let tokens = app.sign_up(&email("profile")).await.tokens.expect("tokens");
    let updated = app
        .api
        .update_me(authed(
            pb::UpdateMeRequest {
                name: "이서연".into(),
                phone: "+821098765432".into(),
            },
            &tokens.access_token,
        ))
        .await
        .expect("update")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(
        (updated.name.as_str(), updated.phone.as_str()),
        ("이서연", "+821098765432")
    );
    let kept = app
        .api
        .update_me(authed(pb::UpdateMeRequest::default(), &tokens.access_token))
        .await
        .expect("no-op update")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(
        (kept.name.as_str(), kept.phone.as_str()),
        ("이서연", "+821098765432")
    );
    let bad = app
        .api
        .update_me(authed(
            pb::UpdateMeRequest {
                name: String::new(),
                phone: "12345".into(),
            },
            &tokens.access_token,
        ))
        .await
        .expect_err("bad phone");
    assert_eq!(violated_fields(&bad), ["phone"]);
    let anonymous = app
        .api
        .update_me(pb::UpdateMeRequest::default())
        .await
        .expect_err("anonymous");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    app.stop().await;
}
