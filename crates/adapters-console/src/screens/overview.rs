//! An application's overview.

use crate::auth::SignedIn;
use crate::page::{ConsoleError, Layout, render};
use crate::state::ConsoleState;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::operator_account::ConsoleAction;
use domain::values::ApplicationId;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps/{id}", web::get().to(overview));
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    id: String,
    name: String,
    created: String,
    device_authentication: bool,
    /// The public half of the credentials: shipped in vendors' programs, not a secret.
    api_key: String,
}

/// The application named in the path, or a 404 page.
///
/// # Errors
/// [`ConsoleError::NotFound`] for a malformed or unknown id.
pub async fn application(
    state: &ConsoleState,
    raw_id: &str,
) -> Result<domain::application::Application, ConsoleError> {
    let id = uuid::Uuid::parse_str(raw_id).map_err(|_| ConsoleError::NotFound)?;
    state
        .operator
        .get_application(ApplicationId::from_uuid(id))
        .await
        .map_err(ConsoleError::Unknown)?
        .ok_or(ConsoleError::NotFound)
}

async fn overview(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(&state, &path).await?;
    let id = app.id.to_string();
    let page = OverviewPage {
        layout: Layout::signed_in(app.name.as_str(), &who, &state, &req, Some(id.clone())).await?,
        id,
        name: app.name.as_str().to_owned(),
        created: app.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        device_authentication: app.device_authentication,
        api_key: app.api_key,
    };
    render(&page, &page.layout)
}
