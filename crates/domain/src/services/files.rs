//! Files: the vendor's uploads (admin API) and the downloads of its program (integration
//! API).
//!
//! An upload streams from the request to the blob store through the size limit, the
//! encryption when asked, and a SHA-256 of the bytes stored; the file's row is written once
//! its bytes are stored, so a file listed can be downloaded. A refused or failed upload
//! leaves nothing: the blob store drops a put whose body failed, and bytes stored for a row
//! that could not be written are deleted.

use super::bans::Proof;
use super::{Caller, Latchkey, events};
use crate::application::Application;
use crate::ban::BanProbe;
use crate::crypto::{FilesKey, encrypt_stream};
use crate::errors::{AppContextError, CreateFileError, DownloadRefusal, UploadError};
use crate::event::{ChangedBy, EventType};
use crate::file::{BlobKey, ByteStream, FileName, RequestedRange, StoredFile};
use crate::page::{Page, PageRequest};
use crate::user::User;
use crate::values::{ApplicationId, ClientIp, FileId};
use async_trait::async_trait;
use futures_util::{StreamExt as _, TryStreamExt as _};
use sha2::{Digest as _, Sha256};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};
use zeroize::Zeroizing;

/// An upload: the file's name and flags, and its bytes as they arrive.
pub struct Upload {
    pub name: FileName,
    pub is_public: bool,
    /// Store it encrypted under the application's files key.
    pub encrypt: bool,
    pub mime_type: String,
    pub body: ByteStream,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("name", &self.name)
            .field("is_public", &self.is_public)
            .field("encrypt", &self.encrypt)
            .field("mime_type", &self.mime_type)
            .finish_non_exhaustive()
    }
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploaded {
    Created(StoredFile),
    /// An upload by name over an existing file: same id, new bytes.
    Replaced(StoredFile),
}

/// A file on its way out: what is known of it, the part served, and its bytes.
pub struct Download {
    pub file: StoredFile,
    /// `Some` for a partial answer (`206`): the part served, end exclusive.
    pub range: Option<Range<u64>>,
    pub body: ByteStream,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("file", &self.file)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// The files use cases, as the HTTP adapter calls them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait FilesApi: Send + Sync {
    /// Stores a new file; with `replace`, replaces the file of that name or creates it.
    async fn upload(
        &self,
        app: &Application,
        upload: Upload,
        replace: bool,
        by: &ChangedBy,
    ) -> Result<Uploaded, UploadError>;
    /// Newest first.
    async fn list_files(
        &self,
        app: ApplicationId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<StoredFile>>;
    async fn get_file(&self, app: ApplicationId, id: FileId) -> anyhow::Result<Option<StoredFile>>;
    /// Removes the file and its bytes; `false` when there is no such file.
    async fn delete_file(
        &self,
        app: ApplicationId,
        id: FileId,
        by: &ChangedBy,
    ) -> anyhow::Result<bool>;
    /// The stored bytes, for the vendor.
    async fn admin_download(
        &self,
        app: ApplicationId,
        id: FileId,
        range: Option<RequestedRange>,
    ) -> anyhow::Result<Result<Download, DownloadRefusal>>;
    /// The stored bytes, for the vendor's program: the caller must be recognised (a session,
    /// or legacy credentials) unless the file is public and the application allows anonymous
    /// access; a private file needs an active membership; bans apply as on `app_context`.
    async fn download(
        &self,
        app: &Application,
        caller: Caller,
        ip: ClientIp,
        id: FileId,
        range: Option<RequestedRange>,
    ) -> Result<Result<Download, DownloadRefusal>, AppContextError>;
    /// The SHA-256 of `range` of a file's stored bytes, read once more: what a signed partial
    /// answer's `Content-Digest` needs before its body is sent.
    async fn digest(&self, file: &StoredFile, range: Range<u64>) -> anyhow::Result<[u8; 32]>;
    /// The largest file an upload may store, in bytes.
    fn max_file_size(&self) -> u64;
    /// The application's files key in hex, to show the vendor; `None` before it has one.
    ///
    /// # Errors
    /// When the key does not open under the master key.
    fn files_key(&self, app: &Application) -> anyhow::Result<Option<Zeroizing<String>>>;
}

/// How many files `app_context` lists at most.
pub const MAX_LISTED_FILES: u64 = 1000;

/// Marks the error that ended an upload because it grew past the limit.
#[derive(Debug, thiserror::Error)]
#[error("the upload is larger than the limit")]
struct OverLimit;

/// Marks an error of the upload's own body, as opposed to the store's.
#[derive(Debug, thiserror::Error)]
#[error("the upload's body failed: {0}")]
struct BodyFailed(anyhow::Error);

/// What the bytes stored came to.
#[derive(Default)]
struct Tally {
    stored_bytes: u64,
    sha256: Sha256,
}

impl Latchkey {
    /// Gives every application made before files existed its files key, and moves keys
    /// sealed under the previous master key (during a master-key rotation) under the current
    /// one; how many applications it changed. The server calls it at start, after migrating.
    ///
    /// # Errors
    /// When the store fails, or a key opens under neither master key; applications done
    /// until then keep their changes.
    pub async fn prepare_files_keys(&self) -> anyhow::Result<u64> {
        self.for_each_application(async |app| {
            let sealed = match &app.sealed_files_key {
                None => FilesKey::generate().seal(&self.master_key, app.id)?,
                Some(sealed) => {
                    let purpose = FilesKey::purpose(app.id);
                    match self.master_key.reseal(&purpose, sealed)? {
                        Some(resealed) => resealed,
                        None => return Ok(false),
                    }
                }
            };
            self.ports
                .applications
                .set_files_key(app.id, &sealed, &[])
                .await?;
            Ok(true)
        })
        .await
    }

    /// The files listed in `app_context`: every one for a user with an active membership,
    /// the public ones for anybody else.
    pub(crate) async fn listed_files(
        &self,
        app: ApplicationId,
        user: Option<&User>,
    ) -> anyhow::Result<Vec<StoredFile>> {
        let now = self.ports.clock.now();
        let member = user.is_some_and(|user| user.membership.is_active(now));
        self.ports
            .files
            .list_by_name(app, !member, MAX_LISTED_FILES)
            .await
    }

    /// Streams `body` to a fresh blob, limited, encrypted when asked, and tallied.
    async fn store_bytes(
        &self,
        app: &Application,
        upload: Upload,
    ) -> Result<(BlobKey, StoredFile), UploadError> {
        let max = self.max_file_size;
        let mut received: u64 = 0;
        let limited: ByteStream = upload
            .body
            .map_err(|error| anyhow::Error::new(BodyFailed(error)))
            .and_then(move |piece| {
                received += piece.len() as u64;
                let over = received > max;
                async move {
                    if over {
                        Err(anyhow::Error::new(OverLimit))
                    } else {
                        Ok(piece)
                    }
                }
            })
            .boxed();
        let stored = if upload.encrypt {
            encrypt_stream(&self.files_key_of(app)?, limited)
        } else {
            limited
        };
        let tally = Arc::new(Mutex::new(Tally::default()));
        let counting = tally.clone();
        let tallied: ByteStream = stored
            .inspect_ok(move |piece| {
                let mut tally = counting.lock().unwrap_or_else(PoisonError::into_inner);
                tally.stored_bytes += piece.len() as u64;
                tally.sha256.update(piece);
            })
            .boxed();
        let key = BlobKey::generate(app.id);
        if let Err(error) = self.ports.blobs.put(&key, tallied).await {
            return Err(if error.chain().any(|cause| cause.is::<OverLimit>()) {
                UploadError::TooLarge { max }
            } else if let Some(BodyFailed(cause)) = error.downcast_ref::<BodyFailed>() {
                UploadError::Interrupted(anyhow::anyhow!("{cause:#}"))
            } else {
                UploadError::Unknown(error.context("storing a file's bytes"))
            });
        }
        let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner));
        let file = StoredFile {
            id: FileId::generate(),
            application_id: app.id,
            name: upload.name,
            is_public: upload.is_public,
            is_encrypted: upload.encrypt,
            size_bytes: tally.stored_bytes,
            sha256: tally.sha256.finalize().into(),
            mime_type: upload.mime_type,
            blob_key: key.clone(),
            created_at: self.ports.clock.now(),
        };
        Ok((key, file))
    }

    fn files_key_of(&self, app: &Application) -> anyhow::Result<FilesKey> {
        let sealed = app
            .sealed_files_key
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("the application has no files key yet"))?;
        Ok(FilesKey::open(&self.master_key, app.id, sealed)?)
    }

    /// Records `file` as new or as the replacement of the file of its name; an error when
    /// another upload of that name got in between every time.
    async fn record_upload(
        &self,
        file: StoredFile,
        replace: bool,
        by: &ChangedBy,
    ) -> Result<Uploaded, UploadError> {
        // Two rounds: a concurrent upload of the same name can win the first.
        for _ in 0..2 {
            let existing = self
                .ports
                .files
                .find_by_name(file.application_id, &file.name)
                .await?;
            match existing {
                None => {
                    let created = events::file_stored(
                        file.application_id,
                        EventType::FileCreated,
                        &file,
                        by,
                        file.created_at,
                    );
                    match self.ports.files.create(&file, &[created]).await {
                        Ok(()) => return Ok(Uploaded::Created(file)),
                        Err(CreateFileError::NameTaken) if replace => {}
                        Err(CreateFileError::NameTaken) => return Err(UploadError::NameTaken),
                        Err(CreateFileError::Unknown(error)) => return Err(error.into()),
                    }
                }
                Some(_) if !replace => return Err(UploadError::NameTaken),
                Some(old) => {
                    let new = StoredFile {
                        id: old.id,
                        created_at: old.created_at,
                        ..file.clone()
                    };
                    let replaced = events::file_stored(
                        new.application_id,
                        EventType::FileReplaced,
                        &new,
                        by,
                        file.created_at,
                    );
                    if self
                        .ports
                        .files
                        .replace(&old.blob_key, &new, &[replaced])
                        .await?
                    {
                        self.delete_blob(&old.blob_key).await;
                        return Ok(Uploaded::Replaced(new));
                    }
                }
            }
        }
        Err(UploadError::Unknown(anyhow::anyhow!(
            "concurrent uploads of one name kept replacing each other"
        )))
    }

    /// Deletes bytes no row points to any more; a failure leaves an orphan, logged, rather
    /// than failing a change that is done.
    async fn delete_blob(&self, key: &BlobKey) {
        if let Err(error) = self.ports.blobs.delete(key).await {
            tracing::warn!(blob = key.as_str(), error = %format!("{error:#}"), "a file's old bytes could not be deleted");
        }
    }

    async fn open(
        &self,
        file: StoredFile,
        requested: Option<RequestedRange>,
    ) -> anyhow::Result<Result<Download, DownloadRefusal>> {
        // An encrypted file is served whole: its chunks only open from the start.
        let range = match requested.filter(|_| !file.is_encrypted) {
            None => None,
            Some(requested) => match requested.resolve(file.size_bytes) {
                None => {
                    return Ok(Err(DownloadRefusal::RangeNotSatisfiable {
                        size: file.size_bytes,
                    }));
                }
                Some(range) if range == (0..file.size_bytes) => None,
                Some(range) => Some(range),
            },
        };
        let body = self.bytes(&file, range.clone()).await?;
        Ok(Ok(Download { file, range, body }))
    }

    /// A file's stored bytes, or the `range` of them. A row without its bytes is a fault of
    /// the store, not a missing file.
    async fn bytes(
        &self,
        file: &StoredFile,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<ByteStream> {
        self.ports
            .blobs
            .get(&file.blob_key, range)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!("the bytes of file {} are missing from the store", file.id)
            })
    }

    /// The user a download is for (`None`: anonymous), refused as `app_context` refuses.
    async fn downloader(
        &self,
        app: &Application,
        caller: Caller,
        ip: ClientIp,
    ) -> Result<Option<User>, AppContextError> {
        if caller != Caller::Anonymous {
            return Ok(Some(self.caller_user(app, caller, ip).await?));
        }
        if !app.settings.anonymous_access {
            return Err(AppContextError::InvalidSession);
        }
        let probe = BanProbe {
            ip: Some(ip),
            ..BanProbe::default()
        };
        match self.refusal(app, &probe, Proof::Nothing).await? {
            Some(kind) => Err(AppContextError::Banned(kind)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl FilesApi for Latchkey {
    async fn upload(
        &self,
        app: &Application,
        upload: Upload,
        replace: bool,
        by: &ChangedBy,
    ) -> Result<Uploaded, UploadError> {
        // Refused before a byte is read when the name is taken (checked again on record).
        if !replace
            && self
                .ports
                .files
                .find_by_name(app.id, &upload.name)
                .await?
                .is_some()
        {
            return Err(UploadError::NameTaken);
        }
        let (key, file) = self.store_bytes(app, upload).await?;
        let recorded = self.record_upload(file, replace, by).await;
        if recorded.is_err() {
            self.delete_blob(&key).await;
        }
        recorded
    }

    async fn list_files(
        &self,
        app: ApplicationId,
        page: &PageRequest,
    ) -> anyhow::Result<Page<StoredFile>> {
        self.ports.files.list(app, page).await
    }

    async fn get_file(&self, app: ApplicationId, id: FileId) -> anyhow::Result<Option<StoredFile>> {
        self.ports.files.get(app, id).await
    }

    async fn delete_file(
        &self,
        app: ApplicationId,
        id: FileId,
        by: &ChangedBy,
    ) -> anyhow::Result<bool> {
        // Two rounds: a replacement can change the file between the read and the delete.
        for _ in 0..2 {
            let Some(file) = self.ports.files.get(app, id).await? else {
                return Ok(false);
            };
            let deleted = events::file_deleted(app, &file, by, self.ports.clock.now());
            if self
                .ports
                .files
                .delete(app, id, &file.blob_key, &[deleted])
                .await?
            {
                self.delete_blob(&file.blob_key).await;
                return Ok(true);
            }
        }
        anyhow::bail!("the file kept changing while it was being deleted")
    }

    async fn admin_download(
        &self,
        app: ApplicationId,
        id: FileId,
        range: Option<RequestedRange>,
    ) -> anyhow::Result<Result<Download, DownloadRefusal>> {
        match self.ports.files.get(app, id).await? {
            Some(file) => self.open(file, range).await,
            None => Ok(Err(DownloadRefusal::NotFound)),
        }
    }

    async fn download(
        &self,
        app: &Application,
        caller: Caller,
        ip: ClientIp,
        id: FileId,
        range: Option<RequestedRange>,
    ) -> Result<Result<Download, DownloadRefusal>, AppContextError> {
        let user = self.downloader(app, caller, ip).await?;
        let Some(file) = self.ports.files.get(app.id, id).await? else {
            return Ok(Err(DownloadRefusal::NotFound));
        };
        match &user {
            // Anonymous callers only get this far for public files.
            None if !file.is_public => return Err(AppContextError::InvalidSession),
            Some(user) if !file.is_public && !user.membership.is_active(self.ports.clock.now()) => {
                return Ok(Err(DownloadRefusal::MembershipInactive));
            }
            _ => {}
        }
        Ok(self.open(file, range).await?)
    }

    async fn digest(&self, file: &StoredFile, range: Range<u64>) -> anyhow::Result<[u8; 32]> {
        let mut body = self.bytes(file, Some(range)).await?;
        let mut sha256 = Sha256::new();
        while let Some(piece) = body.try_next().await? {
            sha256.update(&piece);
        }
        Ok(sha256.finalize().into())
    }

    fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    fn files_key(&self, app: &Application) -> anyhow::Result<Option<Zeroizing<String>>> {
        if app.sealed_files_key.is_none() {
            return Ok(None);
        }
        Ok(Some(self.files_key_of(app)?.to_hex()))
    }
}

#[cfg(test)]
mod tests;
