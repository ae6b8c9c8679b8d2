//! Review images in the local object store: the review service grants an
//! upload by signing its URL, the browser PUTs the bytes to the edge, and the
//! edge (which shares the directory and the secret) checks the grant, stores
//! the file and serves it back. The image checks both sides apply live here
//! too: the content type read from the bytes themselves, and the size cap.
//!
//! In production the same grant is an S3 presigned URL and the bucket stores
//! and serves; the review service's `ObjectStore` trait is the seam.

use std::path::PathBuf;

use crate::signature;

/// The largest review image, in bytes.
pub const MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;

/// Where local uploads live, how their URLs are signed, and where browsers
/// reach the edge. Shared by the edge and the review service.
#[derive(Debug, Clone, clap::Args)]
pub struct MediaArgs {
    /// Directory of the local object store for review images (the edge
    /// stores uploads there and serves them at /media/).
    #[arg(
        long,
        env = "STAYMESH_MEDIA_DIR",
        default_value = ".staymesh/media",
        global = true
    )]
    pub media_dir: PathBuf,

    /// Secret the review service signs upload URLs with and the edge checks
    /// them with. Set your own in production.
    #[arg(
        long,
        env = "STAYMESH_MEDIA_SECRET",
        default_value = "staymesh-dev-media-secret",
        global = true
    )]
    pub media_secret: String,

    /// The edge's address as browsers reach it: upload and image URLs start with it.
    #[arg(
        long,
        env = "STAYMESH_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub public_url: String,
}

/// The image formats reviews accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
    Webp,
}

impl ImageType {
    /// The type a declared `Content-Type` names, if accepted.
    pub fn from_mime(mime: &str) -> Option<Self> {
        match mime.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    /// What the first bytes of a file say it is (its magic number), whatever
    /// its name or declared type claim.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(Self::Png)
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }
}

/// Bytes `sniff` needs.
pub const SNIFF_BYTES: usize = 12;

/// One upload the review service allowed: this key, this type, at most this
/// many bytes, until this Unix time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub key: String,
    pub content_type: String,
    pub max_bytes: u64,
    pub expires: i64,
}

/// Whether `key` is one this store writes: `reviews/<uuid>`, nothing that
/// could leave the directory.
pub fn valid_key(key: &str) -> bool {
    key.strip_prefix("reviews/")
        .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
}

impl Grant {
    /// What is signed: every term of the grant.
    fn message(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.key, self.content_type, self.max_bytes, self.expires
        )
    }

    /// The URL the browser PUTs the bytes to.
    pub fn upload_url(&self, public_url: &str, secret: &str) -> String {
        let signature = signature::sign(secret.as_bytes(), self.message().as_bytes());
        format!(
            "{}/media/upload/{}?type={}&max={}&expires={}&sig={signature}",
            public_url.trim_end_matches('/'),
            self.key,
            self.content_type.replace('/', "%2F"),
            self.max_bytes,
            self.expires,
        )
    }

    /// Whether `signature` (base64url) is this grant's under `secret`.
    pub fn verify(&self, secret: &str, signature: &str) -> bool {
        signature::verify(secret.as_bytes(), self.message().as_bytes(), signature)
    }
}

/// Where browsers fetch a stored image.
pub fn public_url(public_url: &str, key: &str) -> String {
    format!("{}/media/{key}", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(
            ImageType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageType::Jpeg)
        );
        assert_eq!(
            ImageType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageType::Png)
        );
        assert_eq!(
            ImageType::sniff(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(ImageType::Webp)
        );
        assert_eq!(ImageType::sniff(b"GIF89a......"), None);
        assert_eq!(ImageType::sniff(b"<svg xmlns="), None);
        assert_eq!(ImageType::from_mime("IMAGE/PNG"), Some(ImageType::Png));
        assert_eq!(ImageType::from_mime("image/gif"), None);
    }

    #[test]
    fn a_grant_verifies_only_as_signed() {
        let grant = Grant {
            key: format!("reviews/{}", uuid::Uuid::now_v7()),
            content_type: "image/png".into(),
            max_bytes: 1000,
            expires: 1_900_000_000,
        };
        let url = grant.upload_url("http://edge", "s");
        let signature = url.rsplit_once("sig=").unwrap().1;
        assert!(grant.verify("s", signature));
        assert!(!grant.verify("other", signature));
        let bigger = Grant {
            max_bytes: 2000,
            ..grant.clone()
        };
        assert!(!bigger.verify("s", signature));
        assert!(valid_key(&grant.key));
        assert!(!valid_key("reviews/../../etc/passwd"));
        assert!(!valid_key("other/x"));
    }
}
