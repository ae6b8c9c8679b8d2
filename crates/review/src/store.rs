//! Where review images live, behind one trait: the local directory the
//! edge serves (the default, and what the tests use), or an S3-compatible
//! bucket in production. Browsers upload straight to it under a grant this
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
