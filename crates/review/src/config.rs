//! The review service's own settings, from `STAYMESH_*` variables.

use std::time::Duration;

use staymesh_platform::config::parse_duration;

/// How long after a stay it may be reviewed.
#[derive(Debug, Clone, clap::Args)]
pub struct ReviewArgs {
    /// How long after a stay is completed (its check-out) it may be reviewed.
    #[arg(long, env = "STAYMESH_REVIEW_WINDOW", default_value = "30d", value_parser = parse_duration)]
    pub review_window: Duration,

    /// How long an image upload may wait for a review to take it before
    /// it is deleted with its file.
    #[arg(long, env = "STAYMESH_REVIEW_UPLOAD_TTL", default_value = "1d", value_parser = parse_duration)]
    pub review_upload_ttl: Duration,

    /// How often unused image uploads are looked for.
    #[arg(long, env = "STAYMESH_REVIEW_UPLOAD_CLEANUP_EVERY", default_value = "1h", value_parser = parse_duration)]
    pub review_upload_cleanup_every: Duration,

    /// An S3 (or S3-compatible) endpoint for review images, e.g.
    /// https://s3.ap-northeast-2.amazonaws.com. Empty: the local directory
    /// the edge serves (STAYMESH_MEDIA_DIR).
    #[arg(long, env = "STAYMESH_S3_ENDPOINT", default_value = "")]
    pub s3_endpoint: String,

    /// The bucket review images go to.
    #[arg(
        long,
        env = "STAYMESH_S3_BUCKET",
        default_value = "staymesh-review-images"
    )]
    pub s3_bucket: String,

    /// The bucket's region.
    #[arg(long, env = "STAYMESH_S3_REGION", default_value = "ap-northeast-2")]
    pub s3_region: String,

    /// Access key id for the bucket.
    #[arg(long, env = "STAYMESH_S3_ACCESS_KEY", default_value = "")]
    pub s3_access_key: String,

    /// Secret access key for the bucket.
    #[arg(long, env = "STAYMESH_S3_SECRET_KEY", default_value = "")]
    pub s3_secret_key: String,

    /// Where browsers fetch images (a CDN or a public bucket). Empty:
    /// presigned GET URLs, valid for a day.
    #[arg(long, env = "STAYMESH_S3_PUBLIC_URL", default_value = "")]
    pub s3_public_url: String,
}

impl ReviewArgs {
    /// The S3 store the settings name, if any.
    pub fn s3_store(&self) -> Result<Option<crate::store::S3Store>, String> {
        if self.s3_endpoint.is_empty() {
            return Ok(None);
        }
        let public = Some(self.s3_public_url.clone()).filter(|u| !u.is_empty());
        crate::store::S3Store::new(
            &self.s3_endpoint,
            &self.s3_bucket,
            &self.s3_region,
            &self.s3_access_key,
            &self.s3_secret_key,
            public,
        )
        .map(Some)
    }
}
