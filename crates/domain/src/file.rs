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
    async fn get(&self, key: &BlobKey, range: Option<Range<u64>>)
    -> anyhow::Result<Option<ByteStream>>;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_is_trimmed_and_refuses_slashes_controls_and_overlength() {
        assert_eq!(FileName::parse("  app.exe ").unwrap().as_str(), "app.exe");
        assert_eq!(FileName::parse(&"é".repeat(255)).unwrap().as_str().chars().count(), 255);
        for bad in ["", "   ", "a/b", "a\\b", "a\0b", "a\nb", &"x".repeat(256)] {
            assert_eq!(FileName::parse(bad), Err(FileNameError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn blob_keys_are_fresh_and_scoped_to_their_application() {
        let app = ApplicationId::generate();
        let (a, b) = (BlobKey::generate(app), BlobKey::generate(app));
        assert_ne!(a, b);
        assert!(a.as_str().starts_with(&format!("{app}/")));
    }
}
