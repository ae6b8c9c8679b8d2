//! Where review images live, behind one trait: the local directory the
//! edge serves (the default), or an S3-compatible bucket in production
//! (`STAYMESH_S3_ENDPOINT` set). Browsers upload straight to it under a grant this
//! service signs; the service only ever reads an image's size and first
//! bytes, to check it, and deletes what no review kept.

use std::path::PathBuf;

use staymesh_platform::media::{self, Grant, SNIFF_BYTES};
use tokio::io::AsyncReadExt;

/// An object store of review images.
#[tonic::async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// The URL a browser PUTs the granted upload to.
    fn upload_url(&self, grant: &Grant) -> String;
    /// Where browsers fetch the object.
    fn url(&self, key: &str) -> String;
    /// The object's size and first bytes; `None` when nothing was uploaded.
    async fn head(&self, key: &str) -> std::io::Result<Option<(u64, Vec<u8>)>>;
    /// Removes the object (nothing there is fine).
    async fn delete(&self, key: &str) -> std::io::Result<()>;
}

/// The local directory the edge writes uploads to and serves from.
#[derive(Debug, Clone)]
pub struct LocalStore {
    pub dir: PathBuf,
    pub secret: String,
    pub public_url: String,
}

impl LocalStore {
    pub fn new(args: &media::MediaArgs) -> Self {
        Self {
            dir: args.media_dir.clone(),
            secret: args.media_secret.clone(),
            public_url: args.public_url.clone(),
        }
    }
}

#[tonic::async_trait]
impl ObjectStore for LocalStore {
    fn upload_url(&self, grant: &Grant) -> String {
        grant.upload_url(&self.public_url, &self.secret)
    }

    fn url(&self, key: &str) -> String {
        media::public_url(&self.public_url, key)
    }

    async fn head(&self, key: &str) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        let mut file = match tokio::fs::File::open(self.dir.join(key)).await {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let size = file.metadata().await?.len();
        let mut head = vec![0; SNIFF_BYTES];
        let mut read = 0;
        while read < head.len() {
            let n = file.read(&mut head[read..]).await?;
            if n == 0 {
                break;
            }
            read += n;
        }
        head.truncate(read);
        Ok(Some((size, head)))
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.dir.join(key)).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// An S3 bucket (or any S3-compatible store, by endpoint): uploads go to it
/// by a presigned PUT that fixes the content type, and this service reads
/// and deletes with presigned requests too.
#[derive(Debug, Clone)]
pub struct S3Store {
    bucket: rusty_s3::Bucket,
    credentials: rusty_s3::Credentials,
    http: reqwest::Client,
    /// Where browsers fetch objects (a CDN, or a public bucket's URL); unset:
    /// presigned GETs.
    public_url: Option<String>,
}

/// How long an image URL of a private bucket lets browsers load the image.
const IMAGE_URL_LIFE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How long this service's own presigned requests live.
const REQUEST_LIFE: std::time::Duration = std::time::Duration::from_secs(60);

impl S3Store {
    pub fn new(
        endpoint: &str,
        bucket: &str,
        region: &str,
        access_key: &str,
        secret_key: &str,
        public_url: Option<String>,
    ) -> Result<Self, String> {
        let endpoint = endpoint
            .parse()
            .map_err(|e| format!("STAYMESH_S3_ENDPOINT `{endpoint}`: {e}"))?;
        let bucket = rusty_s3::Bucket::new(
            endpoint,
            rusty_s3::UrlStyle::Path,
            bucket.to_owned(),
            region.to_owned(),
        )
        .map_err(|e| format!("STAYMESH_S3_ENDPOINT: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            bucket,
            credentials: rusty_s3::Credentials::new(access_key, secret_key),
            http,
            public_url,
        })
    }

    /// The bucket as the store addresses it (for tests and set-up).
    pub fn bucket(&self) -> &rusty_s3::Bucket {
        &self.bucket
    }

    pub fn credentials(&self) -> &rusty_s3::Credentials {
        &self.credentials
    }
}

fn s3_error(error: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("s3: {error}"))
}

#[tonic::async_trait]
impl ObjectStore for S3Store {
    fn upload_url(&self, grant: &Grant) -> String {
        use rusty_s3::S3Action as _;
        let mut put = self.bucket.put_object(Some(&self.credentials), &grant.key);
        put.headers_mut()
            .insert("content-type", grant.content_type.clone());
        let left = (grant.expires - chrono::Utc::now().timestamp()).max(1);
        put.sign(std::time::Duration::from_secs(
            u64::try_from(left).unwrap_or(1),
        ))
        .to_string()
    }

    fn url(&self, key: &str) -> String {
        use rusty_s3::S3Action as _;
        match &self.public_url {
            Some(base) => format!("{}/{key}", base.trim_end_matches('/')),
            // A private bucket: a presigned GET, good for a day.
            None => self
                .bucket
                .get_object(Some(&self.credentials), key)
                .sign(IMAGE_URL_LIFE)
                .to_string(),
        }
    }

    async fn head(&self, key: &str) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        use rusty_s3::S3Action as _;
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(REQUEST_LIFE);
        // The first bytes only; the size comes back in Content-Range.
        let answer = self
            .http
            .get(url)
            .header("range", format!("bytes=0-{}", SNIFF_BYTES - 1))
            .send()
            .await
            .map_err(s3_error)?;
        match answer.status().as_u16() {
            404 => return Ok(None),
            // An empty object: nothing to read a range of.
            416 => return Ok(Some((0, Vec::new()))),
            200 | 206 => {}
            status => return Err(s3_error(format!("GET {key} answered {status}"))),
        }
        let total = answer
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit_once('/'))
            .and_then(|(_, total)| total.parse::<u64>().ok())
            .or(answer.content_length());
        let head = answer.bytes().await.map_err(s3_error)?;
        let mut first = head.to_vec();
        first.truncate(SNIFF_BYTES);
        Ok(Some((total.unwrap_or(0), first)))
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        use rusty_s3::S3Action as _;
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), key)
            .sign(REQUEST_LIFE);
        let answer = self.http.delete(url).send().await.map_err(s3_error)?;
        match answer.status().as_u16() {
            200 | 204 | 404 => Ok(()),
            status => Err(s3_error(format!("DELETE {key} answered {status}"))),
        }
    }
}
