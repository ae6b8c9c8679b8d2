//! Access tokens: their claims, what the service refuses, roles, and the JWKS.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use staymesh_platform::auth::jwt::{Claims, ISSUER, SigningKey};
use staymesh_proto::user as pb;
use tonic::Code;

use crate::support::*;

fn claims_for(user_id: &str, role: &str, expires_in: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: user_id.into(),
        role: role.into(),
        iss: ISSUER.into(),
        iat: now,
        exp: now + expires_in,
        jti: uuid::Uuid::now_v7().to_string(),
    }
}

#[tokio::test]
async fn access_tokens_carry_kid_subject_role_and_lifetime() {
    let mut app = spawn().await;
    let response = app.sign_up(&email("claims")).await;
    let user = response.user.expect("user");
    let tokens = response.tokens.expect("tokens");
    let header = header(&tokens.access_token);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], app.signing_key.kid());
    let claims = claims(&tokens.access_token);
    assert_eq!(claims["sub"], user.user_id.as_str());
    assert_eq!(claims["role"], "GUEST");
    assert_eq!(claims["iss"], "staymesh");
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert_eq!(exp - iat, 15 * 60, "15 minutes by default");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(tokens.access_token_expires_at.expect("expiry").seconds, exp);

    let jwks = app
        .api
        .get_jwks(pb::GetJwksRequest {})
        .await
        .expect("jwks")
        .into_inner();
    let key = &jwks.keys[0];
    assert_eq!(
        (
            key.kid.as_str(),
            key.kty.as_str(),
            key.crv.as_str(),
            key.alg.as_str(),
            key.r#use.as_str()
        ),
        (app.signing_key.kid(), "OKP", "Ed25519", "EdDSA", "sig")
    );
    assert_eq!(key.x, app.signing_key.public_key().x);
    app.stop().await;
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated() {
    let retired = SigningKey::generate("retired");
    let retired_for_service = retired.clone();
    let mut app = spawn_with(move |o| o.retired_keys = vec![retired_for_service]).await;
    let tokens = app.sign_up(&email("bad")).await.tokens.expect("tokens");
    let user_id = claims(&tokens.access_token)["sub"]
        .as_str()
        .expect("sub")
        .to_owned();

    // A retired key still listed verifies, so rotation logs nobody out.
    let by_retired = retired
        .sign(&claims_for(&user_id, "GUEST", 60))
        .expect("sign");
    app.me(&by_retired).await.expect("retired key verifies");

    let forger = SigningKey::from_seed(app.signing_key.kid(), rand_seed());
    let forged = forger
        .sign(&claims_for(&user_id, "ADMIN", 60))
        .expect("sign");
    let expired = SigningKey::parse(&app.signing_key.to_config())
        .expect("key")
        .sign(&claims_for(&user_id, "GUEST", -120))
        .expect("sign");
    let unknown_kid = SigningKey::generate("nobody-knows")
        .sign(&claims_for(&user_id, "GUEST", 60))
        .expect("sign");
    let rotated_out = SigningKey::generate("rotated-out")
        .sign(&claims_for(&user_id, "GUEST", 60))
        .expect("sign");
    let payload = tokens.access_token.split('.').nth(1).expect("payload");
    let alg_none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
            app.signing_key.kid()
        ))
    );
    // The real signature over a payload promoted to ADMIN.
    let mut promoted = claims(&tokens.access_token);
    promoted["role"] = "ADMIN".into();
    let parts: Vec<&str> = tokens.access_token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(promoted.to_string()),
        parts[2]
    );
    for (what, token) in [
        ("forged signature", forged),
        ("expired", expired),
        ("unknown kid", unknown_kid),
        ("rotated-out key", rotated_out),
        ("alg none", alg_none),
        ("tampered payload", tampered),
        ("garbage", "garbage".to_owned()),
    ] {
        let status = app.me(&token).await.expect_err(what);
        assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
    }
    let mut basic = tonic::Request::new(pb::GetMeRequest {});
    basic
        .metadata_mut()
        .insert("authorization", "Basic a2ltOnB3".parse().expect("ascii"));
    assert_eq!(
        app.api.get_me(basic).await.expect_err("basic").code(),
        Code::Unauthenticated
    );
    app.stop().await;
}

fn rand_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::now_v7().as_bytes());
    seed
}

#[tokio::test]
async fn admins_grant_host_and_the_next_token_says_so() {
    let mut app = spawn().await;
    let admin = app.admin(&email("admin")).await;
    let guest = app.sign_up(&email("future-host")).await;
    let guest_id = guest.user.expect("user").user_id;
    let guest_tokens = guest.tokens.expect("tokens");
    let grant = |token: &str, user_id: &str, role: pb::Role| {
        authed(
            pb::GrantRoleRequest {
                user_id: user_id.into(),
                role: role as i32,
            },
            token,
        )
    };

    // A guest calling an admin RPC.
    let denied = app
        .api
        .grant_role(grant(&guest_tokens.access_token, &guest_id, pb::Role::Host))
        .await
        .expect_err("guest");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let anonymous = app
        .api
        .get_user(pb::GetUserRequest {
            user_id: guest_id.clone(),
        })
        .await
        .expect_err("anonymous");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let granted = app
        .api
        .grant_role(grant(&admin.access_token, &guest_id, pb::Role::Host))
        .await
        .expect("grant")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(
        granted.roles,
        [pb::Role::Guest as i32, pb::Role::Host as i32]
    );
    // Idempotent.
    app.api
        .grant_role(grant(&admin.access_token, &guest_id, pb::Role::Host))
        .await
        .expect("grant again");
    let refreshed = app
        .refresh(&guest_tokens.refresh_token)
        .await
        .expect("refresh");
    assert_eq!(claims(&refreshed.access_token)["role"], "HOST");

    for (user_id, role, field) in [
        (guest_id.as_str(), pb::Role::Guest, "role"),
        (guest_id.as_str(), pb::Role::Unspecified, "role"),
        ("not-a-uuid", pb::Role::Host, "user_id"),
    ] {
        let status = app
            .api
            .grant_role(grant(&admin.access_token, user_id, role))
            .await
            .expect_err("bad grant");
        assert_eq!(violated_fields(&status), [field]);
    }
    let missing = app
        .api
        .grant_role(grant(
            &admin.access_token,
            &uuid::Uuid::now_v7().to_string(),
            pb::Role::Host,
        ))
        .await
        .expect_err("unknown user");
    assert_eq!(missing.code(), Code::NotFound);

    let revoked = app
        .api
        .revoke_role(authed(
            pb::RevokeRoleRequest {
                user_id: guest_id.clone(),
                role: pb::Role::Host as i32,
            },
            &admin.access_token,
        ))
        .await
        .expect("revoke")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(revoked.roles, [pb::Role::Guest as i32]);
    let admin_id = claims(&admin.access_token)["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    let self_revoke = app
        .api
        .revoke_role(authed(
            pb::RevokeRoleRequest {
                user_id: admin_id,
                role: pb::Role::Admin as i32,
            },
            &admin.access_token,
        ))
        .await
        .expect_err("own admin role");
    assert_eq!(self_revoke.code(), Code::FailedPrecondition);
    app.stop().await;
}
