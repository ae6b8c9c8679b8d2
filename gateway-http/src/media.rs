//! The local object store of review images, at the edge: `PUT
//! /media/upload/<key>` takes a browser's upload under a grant the review
//! service signed (key, type, size cap, expiry), and `GET /media/<key>`
//! serves stored images. The type served is read from the bytes, never
//! from what the uploader said.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use staymesh_platform::media::{Grant, ImageType, MAX_IMAGE_BYTES, valid_key};
use tonic::Code;

use crate::error::ApiError;

/// Where the files are and how upload URLs are signed.
#[derive(Debug, Clone)]
pub struct MediaStore {
    pub dir: PathBuf,
    pub secret: String,
}

#[derive(Debug, serde::Deserialize)]
struct UploadQuery {
    #[serde(rename = "type")]
    content_type: String,
    max: u64,
    expires: i64,
    sig: String,
}

/// The media routes, served by the edge next to the API.
pub fn routes(store: MediaStore) -> Router {
    let limit = usize::try_from(MAX_IMAGE_BYTES).unwrap_or(usize::MAX);
    Router::new()
        .route("/media/upload/{*key}", put(upload))
        .route("/media/{*key}", get(download))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(Arc::new(store))
}

fn refuse(status: StatusCode, code: Code, message: &str) -> Response {
    ApiError::plain(status, code, message.to_owned()).into_response()
}

async fn upload(
    State(store): State<Arc<MediaStore>>,
    Path(key): Path<String>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !valid_key(&key) {
        return refuse(StatusCode::NOT_FOUND, Code::NotFound, "no such upload");
    }
    let grant = Grant {
        key: key.clone(),
        content_type: query.content_type,
        max_bytes: query.max,
        expires: query.expires,
    };
    if !grant.verify(&store.secret, &query.sig) {
        return refuse(
            StatusCode::FORBIDDEN,
            Code::PermissionDenied,
            "the upload URL's signature does not match",
        );
    }
    if chrono::Utc::now().timestamp() > grant.expires {
        return refuse(
            StatusCode::FORBIDDEN,
            Code::PermissionDenied,
            "the upload URL has expired",
        );
    }
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !declared.eq_ignore_ascii_case(&grant.content_type) {
        return ApiError::bad_field(
            "Content-Type",
            format!("must be {} as granted", grant.content_type),
        )
        .into_response();
    }
    if body.len() as u64 > grant.max_bytes.min(MAX_IMAGE_BYTES) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::InvalidArgument,
            &format!(
                "the upload is larger than the {} bytes granted",
                grant.max_bytes
            ),
        );
    }
    let path = store.dir.join(&key);
    let temporary = path.with_extension(format!("part-{}", uuid::Uuid::now_v7().simple()));
    let written = async {
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::write(&temporary, &body).await?;
        tokio::fs::rename(&temporary, &path).await
    };
    match written.await {
        Ok(()) => (StatusCode::OK, axum::Json(serde_json::json!({}))).into_response(),
        Err(error) => {
            tracing::error!(%error, %key, "storing an upload failed");
            let _ = tokio::fs::remove_file(&temporary).await;
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::Internal,
                "the upload could not be stored",
            )
        }
    }
}

async fn download(State(store): State<Arc<MediaStore>>, Path(key): Path<String>) -> Response {
    if !valid_key(&key) {
        return refuse(StatusCode::NOT_FOUND, Code::NotFound, "no such image");
    }
    match tokio::fs::read(store.dir.join(&key)).await {
        Ok(bytes) => {
            let mime = ImageType::sniff(&bytes).map_or("application/octet-stream", ImageType::mime);
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "public, max-age=86400"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) => refuse(StatusCode::NOT_FOUND, Code::NotFound, "no such image"),
    }
}
