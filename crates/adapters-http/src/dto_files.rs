//! The files' bodies: the multipart upload's fields (for the OpenAPI document), a stored
//! file as the admin API shows it, and as `app_context` lists it.

use crate::pages::next_cursor;
use chrono::{DateTime, Utc};
use data_encoding::HEXLOWER;
use domain::file::StoredFile;
use domain::page::Page;
use domain::services::Uploaded;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// `POST /api/admin/files`: `multipart/form-data`, the text fields before `file` (the bytes
/// are streamed to storage as they arrive, so a text field after them is refused with 422).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes the multipart body in the OpenAPI document only.
pub struct UploadForm {
    /// 1 to 255 characters after trimming surrounding whitespace, without control characters,
    /// `/` or `\`; unique in the application.
    #[schema(
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f/\\](?:[^\x00-\x1f\x7f-\x9f/\\]{0,253}[^\s\x00-\x1f\x7f-\x9f/\\])?\s*$"
    )]
    pub name: String,
    /// `true`: anonymous callers may download it too, when the application allows anonymous
    /// access. Default `false`.
    #[schema(value_type = Option<FormFlag>)]
    pub is_public: Option<bool>,
    /// `true`: stored and served encrypted under the application's files key
    /// (docs/files.md). Default `false`.
    #[schema(value_type = Option<FormFlag>)]
    pub store_encrypted: Option<bool>,
    /// The file's bytes, last; at most `files.max_size_bytes`.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A multipart flag: the text `true` or `false`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Describes the multipart body in the OpenAPI document only.
pub enum FormFlag {
    True,
    False,
}

/// `PUT /api/admin/files/by-name/{name}`: as the upload, the name in the path; the text
/// fields before `file`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes the multipart body in the OpenAPI document only.
pub struct ReplaceForm {
    #[schema(value_type = Option<FormFlag>)]
    pub is_public: Option<bool>,
    #[schema(value_type = Option<FormFlag>)]
    pub store_encrypted: Option<bool>,
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A stored file. `size_bytes` and `sha256` describe the bytes a download returns (for an
/// encrypted file, the ciphertext).
#[derive(Debug, Serialize, ToSchema)]
pub struct FileResponse {
    pub id: Uuid,
    pub name: String,
    pub is_public: bool,
    pub is_encrypted: bool,
    pub size_bytes: u64,
    /// Lowercase hex; also the download's `ETag`.
    pub sha256: String,
    pub mime_type: String,
    /// Always `COMPLETED`: a file is listed once its bytes are stored.
    #[schema(example = "COMPLETED")]
    pub processing_status: &'static str,
    pub created_at: DateTime<Utc>,
}

impl From<StoredFile> for FileResponse {
    fn from(file: StoredFile) -> Self {
        Self {
            id: file.id.as_uuid(),
            name: file.name.as_str().to_owned(),
            is_public: file.is_public,
            is_encrypted: file.is_encrypted,
            size_bytes: file.size_bytes,
            sha256: HEXLOWER.encode(&file.sha256),
            mime_type: file.mime_type,
            processing_status: "COMPLETED",
            created_at: file.created_at,
        }
    }
}

impl From<Uploaded> for FileResponse {
    fn from(uploaded: Uploaded) -> Self {
        match uploaded {
            Uploaded::Created(file) | Uploaded::Replaced(file) => file.into(),
        }
    }
}

/// One page of files, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileListResponse {
    pub files: Vec<FileResponse>,
    pub next_cursor: Option<String>,
}

impl From<Page<StoredFile>> for FileListResponse {
    fn from(page: Page<StoredFile>) -> Self {
        Self {
            next_cursor: next_cursor(&page),
            files: page.items.into_iter().map(FileResponse::from).collect(),
        }
    }
}

/// A file the caller of `app_context` may download.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedFile {
    pub id: Uuid,
    pub name: String,
    pub mime_type: String,
    pub is_encrypted: bool,
    pub size_bytes: u64,
    /// Lowercase hex SHA-256 of the bytes a download returns.
    pub sha256: String,
}

impl From<StoredFile> for ListedFile {
    fn from(file: StoredFile) -> Self {
        Self {
            id: file.id.as_uuid(),
            name: file.name.as_str().to_owned(),
            mime_type: file.mime_type,
            is_encrypted: file.is_encrypted,
            size_bytes: file.size_bytes,
            sha256: HEXLOWER.encode(&file.sha256),
        }
    }
}
