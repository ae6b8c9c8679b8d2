//! The web page for guests and hosts: the files of `gateway-http/web/`,
//! built into the binary (a release build embeds them; a debug build reads
//! them from disk, so editing the page needs no rebuild).
//!
//! `/` and `/payment-return` (where the sandbox PG sends the browser back)
//! answer the page itself; `/assets/<file>` its scripts, styles and images.
//! Everything is same-origin, so the policy below lets the page load nothing
//! from elsewhere but review images and uploads (which may live in S3).

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "web/"]
struct Files;

/// The page's own scripts only; images and uploads may be on an object store.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob: http: https:; \
     connect-src 'self' http: https:; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'";

/// The web page's routes.
pub(crate) fn routes() -> Router {
    Router::new()
        .route("/", get(page))
        .route("/payment-return", get(page))
        .route("/assets/{*file}", get(asset))
}

async fn page(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve(&file, &headers)
}

/// A file with its type and an ETag; browsers revalidate (`no-cache`) so a
/// new release is picked up at once, and a 304 costs no body.
fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(file) = Files::get(name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let mut headers = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    if matches {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    (headers, file.data.into_owned()).into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
