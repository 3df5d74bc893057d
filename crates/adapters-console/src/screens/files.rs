//! An application's files: the list (by cursor), upload (a plain multipart form: name,
//! public, encrypted, file), download and deletion after a confirmation, through the files
//! service the admin API uses ([`domain::services::FilesApi`]).
//!
//! An upload streams: the multipart body is read a piece at a time and handed to the
//! service through a small bounded channel (the body lives on this worker's thread; the
//! service's stream must be able to move), so the server never holds a file. The console's
//! 16 KiB form limit does not apply to it; the files limit does (a declared length over it is
//! refused before reading, and the service stops at the limit whatever is declared).

use crate::auth::SignedIn;
use crate::confirm;
use crate::flash;
use crate::page::{ConsoleError, Layout, render_status};
use crate::screens::overview::application;
use crate::state::ConsoleState;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::application::Application;
use domain::errors::{DownloadRefusal, UploadError};
use domain::file::{ByteStream, FileName};
use domain::operator_account::ConsoleAction;
use domain::page::{Cursor, PageRequest};
use domain::services::{Upload, Uploaded};
use domain::values::FileId;
use futures_util::StreamExt as _;
use tokio::sync::{mpsc, oneshot};

/// The upload progress script: vendored, tiny, served by the console (CSP `'self'`).
const UPLOAD_SCRIPT: &str = include_str!("../../static/upload.js");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/upload.js", web::get().to(upload_script))
        .route("/apps/{id}/files", web::get().to(list))
        .route("/apps/{id}/files", web::post().to(upload))
        .route("/apps/{id}/files/{file}/download", web::get().to(download))
        .route("/apps/{id}/files/{file}/delete", web::post().to(delete));
}

async fn upload_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(UPLOAD_SCRIPT)
}

/// The most a text field of the upload form may hold.
const MAX_TEXT_FIELD: usize = 1024;
/// What a multipart body may add to its file: boundaries, part headers, the text fields.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// How many pieces of an upload may wait between the request and storage.
const PIECES_IN_FLIGHT: usize = 4;

struct FileRow {
    id: String,
    name: String,
    size: String,
    is_public: bool,
    is_encrypted: bool,
    mime_type: String,
    created: String,
}

#[derive(Template)]
#[template(path = "files.html")]
struct FilesPage {
    layout: Layout,
    app_id: String,
    files: Vec<FileRow>,
    next: Option<String>,
    max_size: String,
    error: Option<String>,
    can_upload: bool,
    can_delete: bool,
}

/// A size as people read it.
fn shown_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes;
    let mut unit = 0;
    while size >= 1024 * 1024 && unit + 1 < UNITS.len() {
        size /= 1024;
        unit += 1;
    }
    format!("{:.1} {}", size as f64 / 1024.0, UNITS[unit])
}

#[derive(serde::Deserialize)]
struct ListQuery {
    after: Option<String>,
}

async fn list_page(
    req: &HttpRequest,
    state: &ConsoleState,
    who: &SignedIn,
    app: &Application,
    after: Option<&str>,
    error: Option<(StatusCode, String)>,
) -> Result<HttpResponse, ConsoleError> {
    // A malformed cursor is the first page: it only comes from a hand-edited address.
    let after = after
        .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
        .map(Cursor::after);
    let request = PageRequest::new(after, PageRequest::DEFAULT_LIMIT)
        .map_err(|_| ConsoleError::BadRequest("The page size is out of range.".to_owned()))?;
    let listed = state
        .files
        .list_files(app.id, &request)
        .await
        .map_err(ConsoleError::Unknown)?;
    let id = app.id.to_string();
    let (status, error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let page = FilesPage {
        layout: Layout::signed_in("Files", who, state, req, Some(id.clone())).await?,
        app_id: id,
        files: listed
            .items
            .into_iter()
            .map(|file| FileRow {
                id: file.id.to_string(),
                name: file.name.as_str().to_owned(),
                size: shown_size(file.size_bytes),
                is_public: file.is_public,
                is_encrypted: file.is_encrypted,
                mime_type: file.mime_type,
                created: file.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
            .collect(),
        next: listed.next.map(|cursor| cursor.id().to_string()),
        max_size: shown_size(state.files.max_file_size()),
        error,
        can_upload: who.account.role.allows(ConsoleAction::Change),
        can_delete: who.account.role.allows(ConsoleAction::Delete),
    };
    render_status(status, &page, &page.layout)
}

async fn list(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(&state, &path).await?;
    list_page(&req, &state, &who, &app, query.after.as_deref(), None).await
}

/// The upload form's text fields, read before its file.
#[derive(Default)]
struct Fields {
    csrf: String,
    name: String,
    is_public: bool,
    encrypted: bool,
    content_type: Option<String>,
}

/// Reads the text fields, then hands the file over as a stream (see the module's docs).
/// `Err` carries what to tell the operator.
async fn read_upload(mut multipart: Multipart) -> Result<(Fields, ByteStream), String> {
    let (fields_tx, fields_rx) = oneshot::channel::<Result<Fields, String>>();
    let (pieces_tx, mut pieces_rx) = mpsc::channel::<anyhow::Result<Bytes>>(PIECES_IN_FLIGHT);
    actix_web::rt::spawn(async move {
        let mut fields = Fields::default();
        loop {
            let mut field = match multipart.next().await {
                Some(Ok(field)) => field,
                Some(Err(error)) => {
                    let _ = fields_tx.send(Err(format!("The form could not be read ({error}).")));
                    return;
                }
                None => {
                    let _ = fields_tx.send(Err("Choose a file to upload.".to_owned()));
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
                    // A closed channel: the upload was refused; stop reading.
                    if pieces_tx.send(piece).await.is_err() || failed {
                        return;
                    }
                }
                return;
            }
            let mut text = Vec::new();
            while let Some(piece) = field.next().await {
                match piece {
                    Ok(piece) if text.len() + piece.len() <= MAX_TEXT_FIELD => {
                        text.extend_from_slice(&piece);
                    }
                    _ => {
                        let _ = fields_tx.send(Err(format!(
                            "The field {part} is too long or unreadable; reload the page and try again."
                        )));
                        return;
                    }
                }
            }
            let text = String::from_utf8_lossy(&text).into_owned();
            match part.as_str() {
                "csrf" => fields.csrf = text,
                "name" => fields.name = text,
                "is_public" => fields.is_public = !text.is_empty(),
                "encrypted" => fields.encrypted = !text.is_empty(),
                _ => {}
            }
        }
    });
    let fields = fields_rx
        .await
        .map_err(|_| "Choose a file to upload.".to_owned())??;
    let pieces = futures_util::stream::poll_fn(move |cx| pieces_rx.poll_recv(cx)).boxed();
    Ok((fields, pieces))
}

async fn upload(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    multipart: Multipart,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Change)?;
    let app = application(&state, &path).await?;
    let max = state.files.max_file_size();
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The file is larger than the limit of {}: nothing was kept. Upload a smaller file, or raise files.max_size_bytes.",
                shown_size(max)
            ),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max.saturating_add(MULTIPART_OVERHEAD)) {
        // The token is in the unread body; refusing changes nothing, so no check is needed.
        return list_page(&req, &state, &who, &app, None, Some(too_large())).await;
    }
    let (fields, body) = match read_upload(multipart).await {
        Ok(read) => read,
        Err(message) => {
            return list_page(
                &req,
                &state,
                &who,
                &app,
                None,
                Some((StatusCode::UNPROCESSABLE_ENTITY, message)),
            )
            .await;
        }
    };
    // The token comes before the file in the form, so nothing is stored without it.
    who.verify_csrf(&req, &fields.csrf)?;
    let name = match FileName::parse(&fields.name) {
        Ok(name) => name,
        Err(error) => {
            let message = format!("The name is not usable: {error}. Change it and upload again.");
            return list_page(
                &req,
                &state,
                &who,
                &app,
                None,
                Some((StatusCode::UNPROCESSABLE_ENTITY, message)),
            )
            .await;
        }
    };
    let mime_type = fields
        .content_type
        .filter(|declared| declared.len() <= 255)
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let upload = Upload {
        name,
        is_public: fields.is_public,
        encrypt: fields.encrypted,
        mime_type,
        body,
    };
    let refusal = match state
        .files
        .upload(&app, upload, false, &who.changed_by(&state, &req))
        .await
    {
        Ok(Uploaded::Created(file) | Uploaded::Replaced(file)) => {
            return Ok(flash::redirect_with(
                &format!("/console/apps/{}/files", app.id),
                &format!(
                    "Uploaded {} ({}).",
                    file.name.as_str(),
                    shown_size(file.size_bytes)
                ),
            ));
        }
        Err(UploadError::NameTaken) => (
            StatusCode::CONFLICT,
            "A file of that name exists. Choose another name, or delete the old file first."
                .to_owned(),
        ),
        Err(UploadError::TooLarge { .. }) => too_large(),
        Err(UploadError::Interrupted(error)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("The upload was interrupted ({error}); nothing was kept. Try again."),
        ),
        Err(UploadError::Unknown(error)) => return Err(ConsoleError::Unknown(error)),
    };
    list_page(&req, &state, &who, &app, None, Some(refusal)).await
}

fn file_id(raw: &str) -> Result<FileId, ConsoleError> {
    uuid::Uuid::parse_str(raw)
        .map(FileId::from_uuid)
        .map_err(|_| ConsoleError::NotFound)
}

async fn download(
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let (raw_app, raw_file) = path.into_inner();
    let app = application(&state, &raw_app).await?;
    let found = state
        .files
        .admin_download(app.id, file_id(&raw_file)?, None)
        .await
        .map_err(ConsoleError::Unknown)?;
    let download = match found {
        Ok(download) => download,
        Err(DownloadRefusal::NotFound) => return Err(ConsoleError::NotFound),
        Err(other) => return Err(ConsoleError::Unknown(anyhow::anyhow!("{other}"))),
    };
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(
            download.file.name.as_str().to_owned(),
        )],
    };
    let body = download
        .body
        .map(|piece| piece.map_err(|error| std::io::Error::other(format!("{error:#}"))));
    Ok(HttpResponse::Ok()
        .content_type(download.file.mime_type.clone())
        .insert_header(disposition)
        .no_chunking(download.file.size_bytes)
        .streaming(body))
}

#[derive(serde::Deserialize)]
struct DeleteForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
}

async fn delete(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Delete)?;
    let (raw_app, raw_file) = path.into_inner();
    let app = application(&state, &raw_app).await?;
    let id = file_id(&raw_file)?;
    let file = state
        .files
        .get_file(app.id, id)
        .await
        .map_err(ConsoleError::Unknown)?
        .ok_or(ConsoleError::NotFound)?;
    let list = format!("/console/apps/{}/files", app.id);
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout = Layout::signed_in(
            "Delete a file",
            &who,
            &state,
            &req,
            Some(app.id.to_string()),
        )
        .await?;
        return confirm::ask(
            layout,
            &format!("Delete the file {}?", file.name.as_str()),
            "Programs can no longer download it, and its bytes are removed. It cannot be undone.",
            &format!("{list}/{id}/delete"),
            &[],
            "Delete the file",
            &list,
        );
    }
    let deleted = state
        .files
        .delete_file(app.id, id, &who.changed_by(&state, &req))
        .await
        .map_err(ConsoleError::Unknown)?;
    let message = if deleted {
        format!("File {} deleted.", file.name.as_str())
    } else {
        "That file was deleted already.".to_owned()
    };
    Ok(flash::redirect_with(&list, &message))
}
