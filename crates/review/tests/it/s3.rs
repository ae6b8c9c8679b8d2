//! Review images in an S3-compatible store (moto's S3 server, started
//! here): the browser's presigned PUT, the service's check of the object's
//! bytes, and deletion of a file that lies.

use std::time::Duration;

use chrono::Utc;
use rusty_s3::S3Action as _;
use staymesh_testkit::{Process, free_port};
use uuid::Uuid;

use crate::images::PNG;
use crate::support::*;

/// moto's S3 server on a free port, with the bucket made.
async fn s3_server() -> (Process, String) {
    let port = free_port();
    let mut command = tokio::process::Command::new("moto_server");
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let server = Process::spawn(command);
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "moto_server did not start (`scripts/infra.sh tools` installs it): {}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, endpoint)
}

#[tokio::test]
async fn images_go_to_s3_by_presigned_upload_and_a_lying_one_is_deleted_there() {
    let (mut server, endpoint) = s3_server().await;
    let bucket = format!("reviews-{}", Uuid::now_v7().simple());
    let app = spawn_with(|args| {
        args.s3_endpoint = endpoint.clone();
        args.s3_bucket = bucket.clone();
        args.s3_region = "us-east-1".into();
        args.s3_access_key = "test".into();
        args.s3_secret_key = "test".into();
    })
    .await;
    let s3 = app.settings.review.s3_store().unwrap().unwrap();
    let http = reqwest::Client::new();
    let create = s3
        .bucket()
        .create_bucket(s3.credentials())
        .sign(Duration::from_secs(60));
    let made = http
        .put(create)
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success(), "{:?}", made.text().await);

    let (user, token) = guest();
    let done = stay(user, Uuid::now_v7(), Utc::now());
    app.knows(&done);
    let put = |url: String, content_type: &'static str, bytes: &'static [u8]| {
        let http = http.clone();
        async move {
            http.put(url)
                .header("content-type", content_type)
                .body(bytes)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let grant = app.upload_grant(&token, "image/png", 1000).await.unwrap();
    assert!(
        grant.upload_url.starts_with(&endpoint),
        "{}",
        grant.upload_url
    );
    assert!(
        grant.upload_url.contains("X-Amz-Signature="),
        "{}",
        grant.upload_url
    );
    // The content type is signed, so S3 refuses an upload of another type
    // (moto does not check signatures; real S3 does).
    assert!(
        grant
            .upload_url
            .contains("X-Amz-SignedHeaders=content-type%3Bhost"),
        "{}",
        grant.upload_url
    );
    assert!(
        put(grant.upload_url.clone(), "image/png", PNG)
            .await
            .is_success()
    );
    let liar = app.upload_grant(&token, "image/png", 1000).await.unwrap();
    assert!(
        put(liar.upload_url.clone(), "image/png", b"<svg xmlns='x'/>")
            .await
            .is_success()
    );

    let refused = app
        .create_with_images(&token, done.booking_id, &[&liar.upload_id])
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&refused),
        ["image_upload_ids"],
        "{refused:?}"
    );
    let liar_url = s3
        .bucket()
        .object_url(&format!("reviews/{}", liar.upload_id))
        .unwrap();
    assert_eq!(
        http.get(liar_url).send().await.unwrap().status(),
        404,
        "deleted from the bucket"
    );

    let review = app
        .create_with_images(&token, done.booking_id, &[&grant.upload_id])
        .await
        .expect("a review with its photo");
    let image = http.get(&review.images[0].url).send().await.unwrap();
    assert!(
        image.status().is_success(),
        "{} {}",
        review.images[0].url,
        image.status()
    );
    assert_eq!(&image.bytes().await.unwrap()[..], PNG);
    app.stop().await;
    server.sigkill().await;
}
