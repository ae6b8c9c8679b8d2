//! The web page's files: types, caching and the headers that keep the page
//! to its own scripts.

use axum::http::{Method, StatusCode};

use crate::helpers::TestApp;

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_a_strict_policy() {
    let app = TestApp::spawn().await;
    for path in ["/", "/payment-return?paymentKey=k&orderId=o"] {
        let (status, headers, body) = app.raw(Method::GET, path, &[], None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(String::from_utf8_lossy(&body).contains("/assets/app.js"));
    }

    let (status, headers, body) = app.raw(Method::GET, "/assets/app.js", &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(!body.is_empty());

    // A browser that has the file revalidates it for nothing.
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, headers, body) = app
        .raw(
            Method::GET,
            "/assets/app.js",
            &[("if-none-match", &etag)],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(headers["etag"], etag.as_str());
    assert!(body.is_empty());
}

#[tokio::test]
async fn only_the_pages_own_files_are_served() {
    let app = TestApp::spawn().await;
    for path in [
        "/assets/nothing-here.js",
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/..%2fsrc%2flib.rs",
    ] {
        let (status, _, body) = app.raw(Method::GET, path, &[], None).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}
