//! An application's webhook endpoints: the list (by cursor) and creation, whose `whsec_`
//! secret is shown once (an endpoint's own page is [`super::webhook_endpoint`]). Everything
//! goes through the service behind `/api/admin/webhooks` ([`domain::services::WebhookApi`]).

use crate::auth::SignedIn;
use crate::page::{ConsoleError, Layout, render, render_status};
use crate::screens::overview::application;
use crate::screens::settings::SecretOncePage;
use crate::state::ConsoleState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::application::Application;
use domain::errors::WebhookError;
use domain::operator_account::ConsoleAction;
use domain::page::{Cursor, PageRequest};
use domain::services::NewWebhookEndpoint;
use domain::webhook::{EventTypePattern, WebhookEndpoint, WebhookUrl, description};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps/{id}/webhooks", web::get().to(list))
        .route("/apps/{id}/webhooks", web::post().to(create));
    super::webhook_endpoint::configure(cfg);
}

pub(super) const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";

pub(super) struct EndpointRow {
    pub(super) id: String,
    pub(super) url: String,
    pub(super) event_types: String,
    pub(super) description: String,
    pub(super) enabled: bool,
    /// Why the server turned it off, when it did.
    pub(super) disabled_reason: Option<&'static str>,
    pub(super) failing_since: Option<String>,
}

pub(super) fn endpoint_row(endpoint: &WebhookEndpoint) -> EndpointRow {
    EndpointRow {
        id: endpoint.id.to_string(),
        url: endpoint.url.as_str().to_owned(),
        event_types: endpoint
            .event_types
            .iter()
            .map(EventTypePattern::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        description: endpoint.description.clone(),
        enabled: endpoint.enabled,
        disabled_reason: endpoint.disabled_reason.map(|reason| reason.as_str()),
        failing_since: endpoint.failing_since.map(|at| at.format(TIME).to_string()),
    }
}

/// What the create form shows again after a refusal.
#[derive(Default)]
struct CreateFields {
    url: String,
    event_types: String,
    description: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    app_id: String,
    endpoints: Vec<EndpointRow>,
    next: Option<String>,
    form: CreateFields,
    error: Option<String>,
    can_create: bool,
}

#[derive(serde::Deserialize)]
pub(super) struct AfterQuery {
    pub(super) after: Option<String>,
}

/// A cursor from a query: a malformed one is the first page (only a hand-edited address
/// has one).
pub(super) fn page_request(after: Option<&str>) -> Result<PageRequest, ConsoleError> {
    let after = after
        .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
        .map(Cursor::after);
    PageRequest::new(after, PageRequest::DEFAULT_LIMIT)
        .map_err(|_| ConsoleError::BadRequest("The page size is out of range.".to_owned()))
}

#[allow(clippy::too_many_arguments)]
async fn list_page(
    req: &HttpRequest,
    state: &ConsoleState,
    who: &SignedIn,
    app: &Application,
    after: Option<&str>,
    form: CreateFields,
    error: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let listed = state
        .webhooks
        .list_webhooks(app.id, page_request(after)?)
        .await
        .map_err(ConsoleError::Unknown)?;
    let id = app.id.to_string();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = WebhooksPage {
        layout: Layout::signed_in("Webhooks", who, state, req, Some(id.clone())).await?,
        app_id: id,
        endpoints: listed.items.iter().map(endpoint_row).collect(),
        next: listed.next.map(|cursor| cursor.id().to_string()),
        form,
        error,
        can_create: who.account.role.allows(ConsoleAction::ManageKeys),
    };
    render_status(status, &page, &page.layout)
}

async fn list(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(&state, &path).await?;
    list_page(
        &req,
        &state,
        &who,
        &app,
        query.after.as_deref(),
        CreateFields::default(),
        None,
    )
    .await
}

#[derive(serde::Deserialize)]
struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    event_types: String,
    #[serde(default)]
    description: String,
}

/// The endpoint the form describes, or what to correct.
fn new_endpoint(form: &CreateForm) -> Result<NewWebhookEndpoint, String> {
    let url = WebhookUrl::parse(form.url.trim()).map_err(|_| {
        "The URL must be an absolute http or https address such as https://shop.example.com/hooks/latchkey, without a user name or password.".to_owned()
    })?;
    let patterns: Vec<&str> = form
        .event_types
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .collect();
    let patterns = if patterns.is_empty() {
        vec!["*"]
    } else {
        patterns
    };
    let event_types = EventTypePattern::parse_all(&patterns).map_err(|_| {
        "The event types must be 1 to 32 of: an event type such as license.redeemed, a noun and .* such as user.*, or * for every event; separated by spaces or commas.".to_owned()
    })?;
    let description = description(form.description.trim().to_owned()).map_err(|_| {
        "The description must be at most 256 characters on one line. Shorten it.".to_owned()
    })?;
    Ok(NewWebhookEndpoint {
        url,
        event_types,
        enabled: true,
        description,
    })
}

pub(super) fn secret_page(
    layout: Layout,
    app_id: &str,
    endpoint: &WebhookEndpoint,
    secret: &str,
    heading: &str,
    old_valid_until: Option<String>,
) -> SecretOncePage {
    SecretOncePage {
        layout,
        back_href: format!("/console/apps/{app_id}/webhooks/{}", endpoint.id),
        back_label: "Open the endpoint".to_owned(),
        heading: heading.to_owned(),
        explanation: "Copy the signing secret now: it is shown only this once. Your receiver checks each message's webhook-signature with it (docs/webhooks.md).".to_owned(),
        label: format!("Signing secret of {}", endpoint.url.as_str()),
        value: secret.to_owned(),
        public: false,
        old_valid_until,
    }
}

async fn create(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::ManageKeys)?;
    let app = application(&state, &path).await?;
    let typed = || CreateFields {
        url: form.url.clone(),
        event_types: form.event_types.clone(),
        description: form.description.clone(),
    };
    let new = match new_endpoint(&form) {
        Ok(new) => new,
        Err(message) => {
            return list_page(&req, &state, &who, &app, None, typed(), Some(message)).await;
        }
    };
    let created = match state
        .webhooks
        .create_webhook(app.id, new, &who.changed_by(&state, &req))
        .await
    {
        Ok(created) => created,
        Err(WebhookError::TargetRefused(why)) => {
            let message = format!(
                "Webhooks may not be sent to that address ({why}). Use a public address of your receiver."
            );
            return list_page(&req, &state, &who, &app, None, typed(), Some(message)).await;
        }
        Err(error) => return Err(ConsoleError::Unknown(error.into())),
    };
    let id = app.id.to_string();
    let layout =
        Layout::signed_in("Endpoint created", &who, &state, &req, Some(id.clone())).await?;
    let page = secret_page(
        layout,
        &id,
        &created.endpoint,
        created.secret.expose(),
        "The endpoint is created",
        None,
    );
    render(&page, &page.layout)
}
