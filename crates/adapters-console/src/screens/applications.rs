//! The applications list (every operator sees every application), creation by owners (the
//! new credentials are shown once), and the application switcher's target.

use crate::auth::SignedIn;
use crate::page::{ConsoleError, Layout, render};
use crate::state::ConsoleState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::application::ApplicationName;
use domain::operator_account::ConsoleAction;
use domain::page::{Cursor, PageRequest};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(list))
        .route("/", web::get().to(list))
        .route("/apps", web::post().to(create))
        .route("/switch", web::get().to(switch));
}

struct AppRow {
    id: String,
    name: String,
    created: String,
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ApplicationsPage {
    layout: Layout,
    apps: Vec<AppRow>,
    next: Option<String>,
    can_create: bool,
}

#[derive(serde::Deserialize)]
struct ListQuery {
    after: Option<String>,
}

async fn list(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    // A malformed cursor is the first page, not an error: it only comes from a hand-edited URL.
    let after = query
        .after
        .as_deref()
        .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
        .map(Cursor::after);
    let page = PageRequest::new(after, PageRequest::DEFAULT_LIMIT)
        .map_err(|_| ConsoleError::BadRequest("The page size is out of range.".to_owned()))?;
    let listed = state
        .operator
        .list_applications(page)
        .await
        .map_err(ConsoleError::Unknown)?;
    let page = ApplicationsPage {
        layout: Layout::signed_in("Applications", &who, &state, &req, None).await?,
        apps: listed
            .items
            .into_iter()
            .map(|app| AppRow {
                id: app.id.to_string(),
                name: app.name.as_str().to_owned(),
                created: app.created_at.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        next: listed.next.map(|cursor| cursor.id().to_string()),
        can_create: who.account.role.allows(ConsoleAction::Change),
    };
    render(&page, &page.layout)
}

#[derive(Template)]
#[template(path = "app_created.html")]
struct CreatedPage {
    layout: Layout,
    id: String,
    name: String,
    api_key: String,
    api_secret: String,
    admin_api_key: String,
}

#[derive(serde::Deserialize)]
struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    device_authentication: Option<String>,
}

/// Creates an application and shows its credentials once (rendered, not redirected: they
/// are never stored in plaintext, so no later page could show them).
async fn create(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    who.require(ConsoleAction::ManageKeys)?;
    let name = ApplicationName::parse(&form.name).map_err(|error| {
        ConsoleError::BadRequest(format!(
            "The name is not usable: {error}. Go back and change it."
        ))
    })?;
    let created = state
        .operator
        .create_application(name, form.device_authentication.is_some())
        .await
        .map_err(ConsoleError::Unknown)?;
    let id = created.application.id.to_string();
    let page = CreatedPage {
        layout: Layout::signed_in("Application created", &who, &state, &req, Some(id.clone()))
            .await?,
        name: created.application.name.as_str().to_owned(),
        api_key: created.application.api_key.clone(),
        api_secret: created.api_secret.expose().to_owned(),
        admin_api_key: created.admin_api_key.expose().to_owned(),
        id,
    };
    render(&page, &page.layout)
}

#[derive(serde::Deserialize)]
struct SwitchQuery {
    #[serde(default)]
    app: String,
}

/// The switcher is a GET form (it works without JavaScript): this sends it on.
async fn switch(_who: SignedIn, query: web::Query<SwitchQuery>) -> HttpResponse {
    let location = match uuid::Uuid::parse_str(&query.app) {
        Ok(id) => format!("/console/apps/{id}"),
        Err(_) => "/console".to_owned(),
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
