//! Files: the vendor's uploads under `/api/admin/files`, and downloads for its program under
//! `/api/integration/files/{id}/download` (docs/files.md).
//!
//! Bytes stream both ways: an upload goes from the multipart body to storage a piece at a
//! time, and a download from storage to the client, with a `Content-Length`, so the server
//! never holds a file.

use crate::auth::{AdminApp, IntegrationApp};
use crate::caller::{answer, caller};
use crate::client_ip::ClientAddress;
use crate::dto_files::{FileListResponse, FileResponse, ReplaceForm, UploadForm};
use crate::error::{ApiError, ErrorBody};
use crate::origin::Origin;
use crate::pages::PageQuery;
use crate::signing::KnownContentDigest;
use actix_multipart::Multipart;
use actix_web::body::SizedStream;
use actix_web::http::header::{self, ByteRangeSpec, ContentDisposition, DispositionParam};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use data_encoding::HEXLOWER;
use domain::errors::{DownloadRefusal, UploadError};
use domain::file::{ByteStream, FileName, RequestedRange};
use domain::ports::RateLimiter;
use domain::services::{Download, FilesApi, Upload, Uploaded};
use domain::values::FileId;
use futures_util::{StreamExt as _, TryStreamExt as _};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// The most a text field of an upload may hold.
const MAX_TEXT_FIELD: usize = 1024;
/// How many pieces of an upload may wait between the request and storage.
const PIECES_IN_FLIGHT: usize = 4;
/// What a multipart body may add to its file: boundaries, part headers, the text fields.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// An upload's text fields, read before its file.
#[derive(Default)]
struct Fields {
    name: Option<String>,
    is_public: bool,
    store_encrypted: bool,
    content_type: Option<String>,
}

/// The application's files key as the settings answers show it.
pub(crate) fn shown_files_key(
    files: &dyn FilesApi,
    app: &domain::application::Application,
) -> Result<Option<String>, ApiError> {
    Ok(files.files_key(app)?.map(|key| key.as_str().to_owned()))
}

/// A file id from the path; anything but a UUID names no file.
fn file_id(raw: &str) -> Result<FileId, ApiError> {
    Uuid::parse_str(raw)
        .map(FileId::from_uuid)
        .map_err(|_| ApiError::FileNotFound)
}

fn flag(field: &str, raw: &str) -> Result<bool, ApiError> {
    match raw.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::field(field, "must be true or false")),
    }
}

/// Reads the text fields of a multipart upload, then hands its file over as a stream.
///
/// The multipart body lives on this worker's thread; the domain's stream must be able to
/// move. A local task reads the body and passes the file's pieces through a small bounded
/// channel: the client is read no faster than storage takes the bytes.
async fn read_upload(
    mut multipart: Multipart,
    name_in_path: bool,
) -> Result<(Fields, ByteStream), ApiError> {
    let (fields_tx, fields_rx) = oneshot::channel::<Result<Fields, ApiError>>();
    let (pieces_tx, mut pieces_rx) = mpsc::channel::<anyhow::Result<Bytes>>(PIECES_IN_FLIGHT);
    actix_web::rt::spawn(async move {
        let mut fields = Fields::default();
        loop {
            let mut field = match multipart.next().await {
                Some(Ok(field)) => field,
                Some(Err(error)) => {
                    let _ = fields_tx.send(Err(ApiError::field("file", error)));
                    return;
                }
                None => {
                    let _ = fields_tx.send(Err(ApiError::field("file", "is missing")));
                    return;
                }
            };
            let part = field.name().unwrap_or_default().to_owned();
            if part == "file" {
                fields.content_type = field.content_type().map(ToString::to_string);
                if fields_tx.send(Ok(fields)).is_err() {
                    return;
                }
                while let Some(piece) = field.next().await {
                    let piece = piece.map_err(|error| anyhow::anyhow!("{error}"));
                    let failed = piece.is_err();
                    // A closed channel: the upload was refused (too large); stop reading.
                    if pieces_tx.send(piece).await.is_err() || failed {
                        return;
                    }
                }
                // The next field is not read while this one is alive.
                drop(field);
                if let Some(extra) = multipart.next().await {
                    let error = match extra {
                        Ok(field) => anyhow::anyhow!(
                            "the field {:?} comes after file; send file last",
                            field.name().unwrap_or_default()
                        ),
                        Err(error) => anyhow::anyhow!("{error}"),
                    };
                    let _ = pieces_tx.send(Err(error)).await;
                }
                return;
            }
            let mut text = Vec::new();
            while let Some(piece) = field.next().await {
                match piece {
                    Ok(piece) if text.len() + piece.len() <= MAX_TEXT_FIELD => {
                        text.extend_from_slice(&piece);
                    }
                    Ok(_) => {
                        let error = format!("is longer than {MAX_TEXT_FIELD} bytes");
                        let _ = fields_tx.send(Err(ApiError::field(&part, error)));
                        return;
                    }
                    Err(error) => {
                        let _ = fields_tx.send(Err(ApiError::field(&part, error)));
                        return;
                    }
                }
            }
            let Ok(text) = String::from_utf8(text) else {
                let _ = fields_tx.send(Err(ApiError::field(&part, "is not UTF-8")));
                return;
            };
            let parsed = match part.as_str() {
                "name" if !name_in_path => {
                    fields.name = Some(text);
                    Ok(())
                }
                "is_public" => flag("is_public", &text).map(|v| fields.is_public = v),
                "store_encrypted" => {
                    flag("store_encrypted", &text).map(|v| fields.store_encrypted = v)
                }
                _ => Err(ApiError::field(&part, "is not a field of an upload")),
            };
            if let Err(error) = parsed {
                let _ = fields_tx.send(Err(error));
                return;
            }
        }
    });
    let fields = fields_rx
        .await
        .map_err(|_| ApiError::field("file", "is missing"))??;
    let pieces = futures_util::stream::poll_fn(move |cx| pieces_rx.poll_recv(cx)).boxed();
    Ok((fields, pieces))
}

/// Refuses, before reading it, a body whose declared length is over the limit.
fn check_length(req: &HttpRequest, max: u64) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > max.saturating_add(MULTIPART_OVERHEAD) => {
            Err(ApiError::FileTooLarge { max_bytes: max })
        }
        _ => Ok(()),
    }
}

/// The file's type: what the client declared, else a guess from its name.
fn mime_type(declared: Option<String>, name: &FileName) -> String {
    declared
        .filter(|declared| declared != "application/octet-stream" && declared.len() <= 255)
        .unwrap_or_else(|| {
            mime_guess::from_path(name.as_str())
                .first_or_octet_stream()
                .to_string()
        })
}

fn upload_error(error: UploadError) -> ApiError {
    match error {
        UploadError::NameTaken => ApiError::FileNameTaken,
        UploadError::TooLarge { max } => ApiError::FileTooLarge { max_bytes: max },
        UploadError::Interrupted(error) => ApiError::field("file", format!("{error:#}")),
        UploadError::Unknown(error) => ApiError::from(error),
    }
}

async fn store(
    app: &AdminApp,
    origin: Origin,
    service: &dyn FilesApi,
    req: &HttpRequest,
    multipart: Multipart,
    name_in_path: Option<String>,
) -> Result<Uploaded, ApiError> {
    check_length(req, service.max_file_size())?;
    let replace = name_in_path.is_some();
    let (fields, body) = read_upload(multipart, replace).await?;
    let raw_name = name_in_path
        .or(fields.name)
        .ok_or_else(|| ApiError::field("name", "is missing; send it before file"))?;
    let name = FileName::parse(&raw_name).map_err(|e| ApiError::field("name", e))?;
    let upload = Upload {
        mime_type: mime_type(fields.content_type, &name),
        name,
        is_public: fields.is_public,
        encrypt: fields.store_encrypted,
        body,
    };
    service
        .upload(&app.0, upload, replace, &app.changed_by(origin))
        .await
        .map_err(upload_error)
}

/// Upload a file: `multipart/form-data` with `name`, `is_public`, `store_encrypted`, then
/// `file`.
#[utoipa::path(
    post, path = "/api/admin/files", tag = "files",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("admin_api_key" = [])),
    responses(
        (status = 201, description = "The file, stored", body = FileResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 409, description = "A file of that name exists", body = ErrorBody),
        (status = 413, description = "The file is over `files.max_size_bytes`; nothing is kept", body = ErrorBody),
        (status = 422, description = "A missing or malformed field, or a malformed body", body = ErrorBody),
    )
)]
pub async fn upload_file(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn FilesApi>,
    req: HttpRequest,
    multipart: Multipart,
) -> Result<HttpResponse, ApiError> {
    let uploaded = store(&app, origin, service.as_ref(), &req, multipart, None).await?;
    Ok(HttpResponse::Created().json(FileResponse::from(uploaded)))
}

/// Replace the file of this name, or create it: `multipart/form-data` with `is_public`,
/// `store_encrypted`, then `file`. A replaced file keeps its id.
#[utoipa::path(
    put, path = "/api/admin/files/by-name/{name}", tag = "files",
    params(("name" = String, Path, description = "The file's name: 1 to 255 characters after trimming, without control characters, `/` or `\\`", pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f/\\](?:[^\x00-\x1f\x7f-\x9f/\\]{0,253}[^\s\x00-\x1f\x7f-\x9f/\\])?\s*$")),
    request_body(content = ReplaceForm, content_type = "multipart/form-data"),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The file, replaced", body = FileResponse),
        (status = 201, description = "The file, created", body = FileResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 413, description = "The file is over `files.max_size_bytes`; nothing is kept", body = ErrorBody),
        (status = 422, description = "A missing or malformed field, or a malformed body", body = ErrorBody),
    )
)]
pub async fn replace_file(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn FilesApi>,
    req: HttpRequest,
    name: web::Path<String>,
    multipart: Multipart,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let uploaded = store(&app, origin, service.as_ref(), &req, multipart, Some(name)).await?;
    let mut answer = match uploaded {
        Uploaded::Created(_) => HttpResponse::Created(),
        Uploaded::Replaced(_) => HttpResponse::Ok(),
    };
    Ok(answer.json(FileResponse::from(uploaded)))
}

/// The application's files, newest first.
#[utoipa::path(
    get, path = "/api/admin/files", tag = "files",
    params(PageQuery),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "One page of files", body = FileListResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Bad limit or cursor", body = ErrorBody),
    )
)]
pub async fn list_files(
    app: AdminApp,
    service: web::Data<dyn FilesApi>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<FileListResponse>, ApiError> {
    let page = page.try_into_domain()?;
    Ok(web::Json(service.list_files(app.0.id, &page).await?.into()))
}

/// One file.
#[utoipa::path(
    get, path = "/api/admin/files/{id}", tag = "files",
    params(("id" = Uuid, Path, description = "The file's id")),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The file", body = FileResponse),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
    )
)]
pub async fn get_file(
    app: AdminApp,
    service: web::Data<dyn FilesApi>,
    id: web::Path<String>,
) -> Result<web::Json<FileResponse>, ApiError> {
    let file = service.get_file(app.0.id, file_id(&id)?).await?;
    Ok(web::Json(file.ok_or(ApiError::FileNotFound)?.into()))
}

/// Remove a file and its bytes.
#[utoipa::path(
    delete, path = "/api/admin/files/{id}", tag = "files",
    params(("id" = Uuid, Path, description = "The file's id")),
    security(("admin_api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
    )
)]
pub async fn delete_file(
    app: AdminApp,
    origin: Origin,
    service: web::Data<dyn FilesApi>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = file_id(&id)?;
    if service
        .delete_file(app.0.id, id, &app.changed_by(origin))
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::FileNotFound)
    }
}

/// The one range of a `Range: bytes=…` header; none for a missing, malformed or multiple
/// one, which is answered with the whole file (RFC 9110 lets a server ignore `Range`).
fn requested_range(req: &HttpRequest) -> Option<RequestedRange> {
    let raw = req.headers().get(header::RANGE)?.to_str().ok()?;
    let header::Range::Bytes(specs) = raw.parse::<header::Range>().ok()? else {
        return None;
    };
    match specs.as_slice() {
        [ByteRangeSpec::FromTo(first, last)] if first <= last => {
            Some(RequestedRange::FromTo(*first, *last))
        }
        [ByteRangeSpec::From(first)] => Some(RequestedRange::From(*first)),
        [ByteRangeSpec::Last(n)] => Some(RequestedRange::Last(*n)),
        _ => None,
    }
}

fn refusal(refusal: DownloadRefusal) -> ApiError {
    match refusal {
        DownloadRefusal::NotFound => ApiError::FileNotFound,
        DownloadRefusal::MembershipInactive => ApiError::MembershipInactive,
        DownloadRefusal::RangeNotSatisfiable { size } => ApiError::RangeNotSatisfiable { size },
    }
}

/// A download's answer: the bytes as they come from storage, with their length, type, tag
/// and, for a part, its range. Never compressed: the length and the ranges are the file's.
fn file_answer(download: Download, digest: Option<[u8; 32]>) -> HttpResponse {
    let file = download.file;
    let (mut answer, length) = match &download.range {
        Some(range) => {
            let mut answer = HttpResponse::PartialContent();
            answer.insert_header((
                header::CONTENT_RANGE,
                format!(
                    "bytes {}-{}/{}",
                    range.start,
                    range.end - 1,
                    file.size_bytes
                ),
            ));
            (answer, range.end - range.start)
        }
        None => (HttpResponse::Ok(), file.size_bytes),
    };
    let ranges = if file.is_encrypted { "none" } else { "bytes" };
    answer
        .content_type("application/octet-stream")
        .insert_header((
            header::ETAG,
            format!("\"{}\"", HEXLOWER.encode(&file.sha256)),
        ))
        .insert_header((header::ACCEPT_RANGES, ranges))
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header(ContentDisposition {
            disposition: header::DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file.name.as_str().to_owned())],
        });
    if let Some(digest) = digest {
        answer.extensions_mut().insert(KnownContentDigest(digest));
    }
    let body = download.body.map_err(std::io::Error::other);
    answer.body(SizedStream::new(length, body))
}

/// The stored bytes of a file (ciphertext for an encrypted one). `Range` is honoured for
/// files stored plain.
#[utoipa::path(
    get, path = "/api/admin/files/{id}/download", tag = "files",
    params(("id" = Uuid, Path, description = "The file's id")),
    security(("admin_api_key" = [])),
    responses(
        (status = 200, description = "The file's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
        (status = 416, description = "The range is outside the file", body = ErrorBody),
    )
)]
pub async fn admin_download(
    app: AdminApp,
    service: web::Data<dyn FilesApi>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let download = service
        .admin_download(app.0.id, file_id(&id)?, requested_range(&req))
        .await?
        .map_err(refusal)?;
    Ok(file_answer(download, None))
}

/// Download a file: a private one needs a session (or legacy credentials) with an active
/// membership; a public one also goes to anonymous callers when the application allows
/// anonymous access. `Range` is honoured for files stored plain.
#[utoipa::path(
    get, path = "/api/integration/files/{id}/download", tag = "integration",
    params(("id" = Uuid, Path, description = "The file's id, as `app_context` lists it")),
    security(("api_key" = [], "api_secret" = [], "session_token" = []), ("api_key" = [], "api_secret" = [])),
    responses(
        (status = 200, description = "The file's bytes", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "Missing, unknown, expired or revoked session token (a private file, or no anonymous access)", body = ErrorBody),
        (status = 403, description = "Banned, or the membership is not active", body = ErrorBody),
        (status = 404, description = "No such file in this application", body = ErrorBody),
        (status = 416, description = "The range is outside the file", body = ErrorBody),
        (status = 429, description = "Too many requests from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "The database is unavailable; see Retry-After", body = ErrorBody),
    )
)]
pub async fn download(
    app: IntegrationApp,
    ip: ClientAddress,
    service: web::Data<dyn FilesApi>,
    limiter: web::Data<dyn RateLimiter>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = file_id(&id)?;
    let caller = caller(&req, &app.0, ip.0)?;
    let range = requested_range(&req);
    let download = answer(limiter.as_ref(), &app.0, ip.0, caller, |caller| {
        service.download(&app.0, caller, ip.0, id, range)
    })
    .await?
    .map_err(refusal)?;
    // A signed answer covers its body's digest, which must be known before the body goes.
    let digest = match &download.range {
        None => Some(download.file.sha256),
        Some(range) if app.0.settings.response_signing => {
            Some(service.digest(&download.file, range.clone()).await?)
        }
        Some(_) => None,
    };
    Ok(file_answer(download, digest))
}
