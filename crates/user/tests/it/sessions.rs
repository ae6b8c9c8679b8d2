//! Refresh rotation, reuse detection, log-out and password changes.

use staymesh_proto::user as pb;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let mut app = spawn().await;
    let first = app.sign_up(&email("rotate")).await.tokens.expect("tokens");
    let second = app.refresh(&first.refresh_token).await.expect("refresh");
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    app.me(&second.access_token)
        .await
        .expect("new access token works");
    let third = app
        .refresh(&second.refresh_token)
        .await
        .expect("refresh again");

    // The first token was spent: presenting it again is theft or replay.
    let reused = app.refresh(&first.refresh_token).await.expect_err("reuse");
    assert_eq!(reused.code(), Code::Unauthenticated);
    // ...so the live end of the family is dead too.
    let revoked = app
        .refresh(&third.refresh_token)
        .await
        .expect_err("revoked");
    assert_eq!(revoked.code(), Code::Unauthenticated);

    // Other sessions of the same account are not touched.
    let address = app.me(&third.access_token).await.expect("me").email;
    let other = app
        .log_in(&address, PASSWORD)
        .await
        .expect("log in")
        .tokens
        .expect("tokens");
    app.refresh(&other.refresh_token)
        .await
        .expect("other session lives");

    for garbage in ["", "not-a-token"] {
        let status = app.refresh(garbage).await.expect_err("garbage");
        assert!(
            matches!(status.code(), Code::InvalidArgument | Code::Unauthenticated),
            "{status:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn racing_refreshes_of_one_token_never_both_win() {
    let mut app = spawn().await;
    let tokens = app.sign_up(&email("race")).await.tokens.expect("tokens");
    let racers = (0..10).map(|_| {
        let mut api = app.api.clone();
        let token = tokens.refresh_token.clone();
        async move {
            api.refresh(pb::RefreshRequest {
                refresh_token: token,
            })
            .await
        }
    });
    let results = futures::future::join_all(racers).await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(winners.len() <= 1, "{} refreshes won", winners.len());
    // Whoever won, the family saw reuse and is revoked.
    if let Some(winner) = winners.first() {
        let token = &winner
            .get_ref()
            .tokens
            .as_ref()
            .expect("tokens")
            .refresh_token;
        assert_eq!(
            app.refresh(token).await.expect_err("revoked").code(),
            Code::Unauthenticated
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn log_out_ends_one_session_or_all() {
    let mut app = spawn().await;
    let address = email("bye");
    let laptop = app.sign_up(&address).await.tokens.expect("tokens");
    let phone = app
        .log_in(&address, PASSWORD)
        .await
        .expect("log in")
        .tokens
        .expect("tokens");
    let tablet = app
        .log_in(&address, PASSWORD)
        .await
        .expect("log in")
        .tokens
        .expect("tokens");

    // One session, by its refresh token (no access token needed).
    app.api
        .log_out(pb::LogOutRequest {
            refresh_token: laptop.refresh_token.clone(),
            all_sessions: false,
        })
        .await
        .expect("log out");
    assert_eq!(
        app.refresh(&laptop.refresh_token)
            .await
            .expect_err("ended")
            .code(),
        Code::Unauthenticated
    );
    let phone = app
        .refresh(&phone.refresh_token)
        .await
        .expect("phone lives");

    // Everywhere, which needs the caller's access token.
    let anonymous = app
        .api
        .log_out(pb::LogOutRequest {
            refresh_token: String::new(),
            all_sessions: true,
        })
        .await
        .expect_err("anonymous");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    app.api
        .log_out(authed(
            pb::LogOutRequest {
                refresh_token: String::new(),
                all_sessions: true,
            },
            &tablet.access_token,
        ))
        .await
        .expect("log out everywhere");
    for token in [&phone.refresh_token, &tablet.refresh_token] {
        assert_eq!(
            app.refresh(token).await.expect_err("ended").code(),
            Code::Unauthenticated
        );
    }
    let missing = app
        .api
        .log_out(pb::LogOutRequest::default())
        .await
        .expect_err("nothing to end");
    assert_eq!(violated_fields(&missing), ["refresh_token"]);
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let mut app = spawn().await;
    let address = email("change");
    let old = app.sign_up(&address).await.tokens.expect("tokens");
    let change = |current: &str, new: &str| pb::ChangePasswordRequest {
        current_password: current.into(),
        new_password: new.into(),
    };
    let wrong = app
        .api
        .change_password(authed(
            change("not-the-password1", "brand-new-pass-7"),
            &old.access_token,
        ))
        .await
        .expect_err("wrong current");
    assert_eq!(violated_fields(&wrong), ["current_password"]);
    let same = app
        .api
        .change_password(authed(change(PASSWORD, PASSWORD), &old.access_token))
        .await
        .expect_err("same");
    assert_eq!(violated_fields(&same), ["new_password"]);
    let weak = app
        .api
        .change_password(authed(change(PASSWORD, "weak"), &old.access_token))
        .await
        .expect_err("weak");
    assert_eq!(violated_fields(&weak), ["new_password"]);

    let fresh = app
        .api
        .change_password(authed(
            change(PASSWORD, "brand-new-pass-7"),
            &old.access_token,
        ))
        .await
        .expect("change")
        .into_inner()
        .tokens
        .expect("tokens");
    assert_eq!(
        app.refresh(&old.refresh_token)
            .await
            .expect_err("old session")
            .code(),
        Code::Unauthenticated
    );
    app.refresh(&fresh.refresh_token)
        .await
        .expect("new session");
    assert_eq!(
        app.log_in(&address, PASSWORD)
            .await
            .expect_err("old password")
            .code(),
        Code::Unauthenticated
    );
    app.log_in(&address, "brand-new-pass-7")
        .await
        .expect("new password");
    app.stop().await;
}
