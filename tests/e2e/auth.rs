//! Authentication across the mesh, with each service in its own process the
//! way pods run: the user service signs, the accommodation service verifies
//! with keys fetched from the user service's JWKS, and the HTTP edge forwards
//! `Authorization` unchanged. Every refusal is checked on the real HTTP and
//! gRPC paths.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::Method;
use serde_json::{Value, json};
use staymesh_platform::auth::jwt::{Claims, ISSUER, SigningKey};

use crate::support::*;

fn claims(sub: &str, role: &str, expires_in: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: sub.into(),
        role: role.into(),
        iss: ISSUER.into(),
        iat: now,
        exp: now + expires_in,
        jti: uuid::Uuid::now_v7().to_string(),
    }
}

fn property(name: &str) -> Value {
    json!({"property": {"name": name, "region": "부산", "address": "부산 해운대구 1"}})
}

fn subject(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("payload");
    let json: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    json["sub"].as_str().expect("sub").to_owned()
}

#[tokio::test]
async fn tokens_from_the_user_service_are_honoured_and_bad_ones_refused_everywhere() {
    let deployment = Deployment::new().await;
    deployment.run(&["migrate"]).await;
    let seeded = deployment.run(&["seed", "--properties", "1"]).await;
    assert!(
        seeded.contains("admin@staymesh.dev") && seeded.contains("host@staymesh.dev"),
        "{seeded}"
    );

    // The signing key rotated last week: `current` signs, `retired` still verifies.
    let current = SigningKey::generate("current");
    let retired = SigningKey::generate("retired");
    let keys = format!("{},{}", current.to_config(), retired.to_config());
    let spawn = |part: &str, keys: &str| {
        let mut command = deployment.command(&[part]);
        command
            .env("STAYMESH_JWT_SIGNING_KEYS", keys)
            .env("STAYMESH_JWKS_REFRESH", "1s")
            .env("STAYMESH_LOGIN_MAX_FAILURES", "3");
        Process::spawn(command)
    };
    let mut user = spawn("user", &keys);
    let mut accommodation = spawn("accommodation", &keys);
    let mut gateway = spawn("gateway", &keys);
    wait_serving(&deployment.url("user"), &mut user, Duration::from_secs(60)).await;
    wait_serving(
        &deployment.url("accommodation"),
        &mut accommodation,
        Duration::from_secs(60),
    )
    .await;
    let edge = deployment.edge();
    wait_http(&edge, &mut gateway, Duration::from_secs(60)).await;

    // Sign up and log in over HTTP.
    let email = format!("guest.{}@example.com", uuid::Uuid::now_v7().simple());
    let signed_up = http(
        Method::POST,
        &format!("{edge}/v1/auth/signup"),
        None,
        Some(json!({"email": email, "password": "sunny-busan-77", "name": "박지훈"})),
    )
    .await;
    assert_eq!(signed_up.status, 200, "{}", signed_up.body);
    let signed_up = signed_up.json();
    let user_id = signed_up["user"]["userId"].as_str().expect("id").to_owned();
    let guest_access = signed_up["tokens"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let guest_refresh = signed_up["tokens"]["refreshToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let me = http(
        Method::GET,
        &format!("{edge}/v1/me"),
        Some(&guest_access),
        None,
    )
    .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user"]["roles"], json!(["ROLE_GUEST"]));
    let bad_signup = http(
        Method::POST,
        &format!("{edge}/v1/auth/signup"),
        None,
        Some(json!({"email": email.to_uppercase(), "password": "sunny-busan-77", "name": "x"})),
    )
    .await;
    assert_eq!(bad_signup.status, 409, "{}", bad_signup.body);

    // A guest may not list a property: 403 from the accommodation service.
    let denied = http(
        Method::POST,
        &format!("{edge}/v1/properties"),
        Some(&guest_access),
        Some(property("게스트 호텔")),
    )
    .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.json()["error"]["code"], "PERMISSION_DENIED");

    // An admin grants HOST; after a refresh the token says HOST and listing works.
    let admin_access = login(&edge, "admin@staymesh.dev", "staymesh-admin-1").await;
    let granted = http(
        Method::POST,
        &format!("{edge}/v1/users/{user_id}/roles"),
        Some(&admin_access),
        Some(json!({"role": "ROLE_HOST"})),
    )
    .await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    let refreshed = http(
        Method::POST,
        &format!("{edge}/v1/auth/refresh"),
        None,
        Some(json!({"refreshToken": guest_refresh})),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let host_access = refreshed.json()["tokens"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let created = http(
        Method::POST,
        &format!("{edge}/v1/properties"),
        Some(&host_access),
        Some(property("해운대 선셋 호텔")),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let property_id = created.json()["property"]["propertyId"]
        .as_str()
        .expect("id")
        .to_owned();

    // The demo host edits somebody else's property: 403 over HTTP and over
    // gRPC (grpcurl with the header, as the README shows).
    let demo_host_access = login(&edge, "host@staymesh.dev", "staymesh-host-1").await;
    let stolen = http(
        Method::PATCH,
        &format!("{edge}/v1/properties/{property_id}"),
        Some(&demo_host_access),
        Some(property("남의 호텔")),
    )
    .await;
    assert_eq!(stolen.status, 403, "{}", stolen.body);
    let grpc = format!("127.0.0.1:{}", deployment.port("accommodation"));
    let update = json!({"propertyId": property_id, "property": {"name": "내 호텔"}}).to_string();
    let by_owner = grpcurl(&[
        "-plaintext",
        "-H",
        &format!("authorization: Bearer {host_access}"),
        "-d",
        &update,
        &grpc,
        "staymesh.accommodation.v1.AccommodationService/UpdateProperty",
    ])
    .await;
    assert!(by_owner.contains("내 호텔"), "{by_owner}");
    let by_other = grpcurl_status(&[
        "-plaintext",
        "-H",
        &format!("authorization: Bearer {demo_host_access}"),
        "-d",
        &update,
        &grpc,
        "staymesh.accommodation.v1.AccommodationService/UpdateProperty",
    ])
    .await;
    assert!(by_other.contains("PermissionDenied"), "{by_other}");

    // Tokens the accommodation service must refuse, though it only knows the
    // keys from the user service's JWKS.
    let sub = subject(&host_access);
    let by_retired = retired.sign(&claims(&sub, "HOST", 60)).expect("sign");
    let accepted = http(
        Method::POST,
        &format!("{edge}/v1/properties"),
        Some(&by_retired),
        Some(property("은퇴한 키 호텔")),
    )
    .await;
    assert_eq!(
        accepted.status, 200,
        "a retired key still in the JWKS verifies: {}",
        accepted.body
    );
    let forged = SigningKey::generate("current")
        .sign(&claims(&sub, "ADMIN", 60))
        .expect("sign");
    let expired = current.sign(&claims(&sub, "HOST", -120)).expect("sign");
    let rotated_out = SigningKey::generate("rotated-out")
        .sign(&claims(&sub, "HOST", 60))
        .expect("sign");
    let payload = host_access.split('.').nth(1).expect("payload");
    let alg_none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"current"}"#)
    );
    for (what, token) in [
        ("forged signature", forged.as_str()),
        ("expired", expired.as_str()),
        ("rotated-out key", rotated_out.as_str()),
        ("alg none", alg_none.as_str()),
    ] {
        let refused = http(
            Method::POST,
            &format!("{edge}/v1/properties"),
            Some(token),
            Some(property("위조 호텔")),
        )
        .await;
        assert_eq!(refused.status, 401, "{what}: {}", refused.body);
        assert_eq!(refused.json()["error"]["code"], "UNAUTHENTICATED", "{what}");
        assert_eq!(refused.headers["www-authenticate"], "Bearer");
        let refused = grpcurl_status(&[
            "-plaintext",
            "-H",
            &format!("authorization: Bearer {token}"),
            "-d",
            &property("위조 호텔").to_string(),
            &grpc,
            "staymesh.accommodation.v1.AccommodationService/CreateProperty",
        ])
        .await;
        assert!(refused.contains("Unauthenticated"), "{what}: {refused}");
    }
    // Public reads need no token.
    let (status, body) = http_get(&format!("{edge}/v1/properties/{property_id}")).await;
    assert_eq!(status, 200, "{body}");

    // Brute force over HTTP: 401, 401, 401, then 429 with Retry-After.
    for _ in 0..3 {
        let wrong = http(
            Method::POST,
            &format!("{edge}/v1/auth/login"),
            None,
            Some(json!({"email": email, "password": "wrong-password-1"})),
        )
        .await;
        assert_eq!(wrong.status, 401, "{}", wrong.body);
    }
    let limited = http(
        Method::POST,
        &format!("{edge}/v1/auth/login"),
        None,
        Some(json!({"email": email, "password": "sunny-busan-77"})),
    )
    .await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");

    // Log out over HTTP: the refresh token is dead afterwards.
    let session = http(
        Method::POST,
        &format!("{edge}/v1/auth/login"),
        None,
        Some(json!({"email": "host@staymesh.dev", "password": "staymesh-host-1"})),
    )
    .await
    .json();
    let refresh_token = session["tokens"]["refreshToken"].as_str().expect("token");
    let out = http(
        Method::POST,
        &format!("{edge}/v1/auth/logout"),
        None,
        Some(json!({"refreshToken": refresh_token})),
    )
    .await;
    assert_eq!(out.status, 200, "{}", out.body);
    let dead = http(
        Method::POST,
        &format!("{edge}/v1/auth/refresh"),
        None,
        Some(json!({"refreshToken": refresh_token})),
    )
    .await;
    assert_eq!(dead.status, 401, "{}", dead.body);

    // Rotation through the real path: the user service drops the retired key
    // from its keyring, the accommodation service refetches the JWKS, and a
    // token of the retired key is refused from then on; `current` still works.
    user.sigterm().await;
    assert!(user.wait().await.success(), "{}", user.output());
    let mut user = spawn("user", &current.to_config());
    wait_serving(&deployment.url("user"), &mut user, Duration::from_secs(60)).await;
    let jwks = grpcurl(&[
        "-plaintext",
        &format!("127.0.0.1:{}", deployment.port("user")),
        "staymesh.user.v1.UserService/GetJwks",
    ])
    .await;
    assert!(
        !jwks.contains("retired"),
        "the JWKS still lists the retired key: {jwks}"
    );
    let create = |token: String| {
        let edge = edge.clone();
        async move {
            http(
                Method::POST,
                &format!("{edge}/v1/properties"),
                Some(&token),
                Some(property("회전 호텔")),
            )
            .await
            .status
        }
    };
    staymesh_testkit::eventually(
        Duration::from_secs(20),
        "the accommodation service refusing the dropped key",
        || {
            let refused = create(by_retired.clone());
            async move { refused.await == 401 }
        },
    )
    .await;
    let by_current = current.sign(&claims(&sub, "HOST", 60)).expect("sign");
    assert_eq!(
        create(by_current).await,
        200,
        "the current key still verifies"
    );

    for child in [&user, &accommodation, &gateway] {
        child.sigterm().await;
    }
    for child in [&mut user, &mut accommodation, &mut gateway] {
        let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("exits within the drain timeout");
        assert!(exit.success(), "clean exit on SIGTERM: {exit}");
    }
    deployment.clean_up().await;
}
