//! Files an application ships to its users: what is known of each, and where its bytes live.
//!
//! The bytes go through [`BlobStore`], the port to a local directory or an S3-compatible
//! object store; the metadata goes through [`FileStore`](crate::ports::FileStore). The rules
//! (who may download, size limit, encryption) are in [`crate::services::files`].

use crate::values::{ApplicationId, FileId};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use std::ops::Range;
use thiserror::Error;
use uuid::Uuid;

/// Bytes on their way in or out, a piece at a time: a file is never whole in memory.
pub type ByteStream = BoxStream<'static, anyhow::Result<Bytes>>;

/// Where a file's bytes are stored: `<application id>/<random uuid>`, a new one for every
/// upload, so a replacement never overwrites bytes a download may be reading.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// A fresh key for an upload to the application `app`.
    #[must_use]
    pub fn generate(app: ApplicationId) -> Self {
        Self(format!("{app}/{}", Uuid::new_v4()))
    }

    /// A key as stored.
    #[must_use]
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The bytes of files: a local directory, or an S3-compatible bucket shared by every replica.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `body` under `key` as it arrives. When `body` yields an error, or storing
    /// fails, nothing is left under `key` and the error is returned.
    async fn put(&self, key: &BlobKey, body: ByteStream) -> anyhow::Result<()>;
    /// The bytes under `key`, or the `range` of them (end exclusive, within the size); `None`
    /// when nothing is stored under `key`.
    async fn get(
        &self,
        key: &BlobKey,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<Option<ByteStream>>;
    /// Removes what is under `key`; nothing there is not an error.
    async fn delete(&self, key: &BlobKey) -> anyhow::Result<()>;
}

/// 1 to 255 characters, surrounding whitespace trimmed, no control character and no `/` or
/// `\` (a name is used in download file names and in `/files/by-name/{name}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FileNameError {
    #[error("must be 1 to 255 characters, without control characters, / or \\")]
    Invalid,
}

impl FileName {
    /// # Errors
    /// [`FileNameError::Invalid`] for an empty or overlong name, or one with a control
    /// character or a slash.
    pub fn parse(raw: &str) -> Result<Self, FileNameError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0
            || chars > 255
            || name
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(FileNameError::Invalid);
        }
        Ok(Self(name.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored file. `size_bytes` and `sha256` describe the bytes a download returns: for an
/// encrypted file, the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub id: FileId,
    pub application_id: ApplicationId,
    pub name: FileName,
    pub is_public: bool,
    pub is_encrypted: bool,
    pub size_bytes: u64,
    pub sha256: [u8; 32],
    pub mime_type: String,
    pub blob_key: BlobKey,
    pub created_at: DateTime<Utc>,
}

/// One range of a `Range: bytes=…` request (RFC 9110 §14.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedRange {
    /// `first-`: from `first` to the end.
    From(u64),
    /// `first-last`, both inclusive.
    FromTo(u64, u64),
    /// `-n`: the last `n` bytes.
    Last(u64),
}

impl RequestedRange {
    /// The bytes it asks of a file of `size` (end exclusive); `None` when it asks none of
    /// them (unsatisfiable: `416`).
    #[must_use]
    pub fn resolve(self, size: u64) -> Option<Range<u64>> {
        let range = match self {
            Self::From(first) => first..size,
            Self::FromTo(first, last) => first..last.saturating_add(1).min(size),
            Self::Last(n) => size.saturating_sub(n)..size,
        };
        (range.start < range.end).then_some(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_trimmed_and_refuses_slashes_controls_and_overlength() {
        assert_eq!(FileName::parse("  app.exe ").unwrap().as_str(), "app.exe");
        assert_eq!(
            FileName::parse(&"é".repeat(255))
                .unwrap()
                .as_str()
                .chars()
                .count(),
            255
        );
        for bad in ["", "   ", "a/b", "a\\b", "a\0b", "a\nb", &"x".repeat(256)] {
            assert_eq!(FileName::parse(bad), Err(FileNameError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn ranges_resolve_within_the_file_or_not_at_all() {
        use RequestedRange::{From, FromTo, Last};
        assert_eq!(From(10).resolve(100), Some(10..100));
        assert_eq!(FromTo(0, 0).resolve(100), Some(0..1));
        assert_eq!(FromTo(90, 500).resolve(100), Some(90..100));
        assert_eq!(Last(10).resolve(100), Some(90..100));
        assert_eq!(Last(500).resolve(100), Some(0..100));
        for unsatisfiable in [From(100), FromTo(100, 200), Last(0)] {
            assert_eq!(unsatisfiable.resolve(100), None, "{unsatisfiable:?}");
        }
        assert_eq!(Last(5).resolve(0), None);
    }

    #[test]
    fn blob_keys_are_fresh_and_scoped_to_their_application() {
        let app = ApplicationId::generate();
        let (a, b) = (BlobKey::generate(app), BlobKey::generate(app));
        assert_ne!(a, b);
        assert!(a.as_str().starts_with(&format!("{app}/")));
    }
}
