//! One webhook endpoint's page: enable/disable, secret rotation (shown once), deletion
//! after a confirmation, "send test", and its delivery log (attempts with status, duration
//! and error) with a redeliver button, through [`domain::services::WebhookApi`].

use crate::auth::SignedIn;
use crate::confirm;
use crate::flash;
use crate::page::{ConsoleError, Layout, render};
use crate::screens::overview::application;
use crate::screens::webhooks::{
    AfterQuery, EndpointRow, TIME, endpoint_row, page_request, secret_page,
};
use crate::state::ConsoleState;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::application::Application;
use domain::errors::WebhookError;
use domain::operator_account::ConsoleAction;
use domain::values::{WebhookDeliveryId, WebhookEndpointId};
use domain::webhook::{WebhookDelivery, WebhookEndpoint, WebhookEndpointChange};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps/{id}/webhooks/{endpoint}", web::get().to(show))
        .route(
            "/apps/{id}/webhooks/{endpoint}/enabled",
            web::post().to(set_enabled),
        )
        .route(
            "/apps/{id}/webhooks/{endpoint}/rotate",
            web::post().to(rotate),
        )
        .route(
            "/apps/{id}/webhooks/{endpoint}/delete",
            web::post().to(delete),
        )
        .route("/apps/{id}/webhooks/{endpoint}/test", web::post().to(test))
        .route(
            "/apps/{id}/webhooks/{endpoint}/deliveries/{delivery}/redeliver",
            web::post().to(redeliver),
        );
}

struct AttemptRow {
    at: String,
    status: String,
    duration_ms: u32,
    outcome: &'static str,
    error: String,
}

struct DeliveryRow {
    id: String,
    message_type: String,
    state: &'static str,
    created: String,
    next_attempt: String,
    attempts: Vec<AttemptRow>,
}

fn delivery_row(delivery: WebhookDelivery) -> DeliveryRow {
    DeliveryRow {
        id: delivery.id.to_string(),
        message_type: delivery.message_type,
        state: delivery.state.as_str(),
        created: delivery.created_at.format(TIME).to_string(),
        next_attempt: delivery.next_attempt_at.format(TIME).to_string(),
        attempts: delivery
            .attempts
            .into_iter()
            .map(|attempt| AttemptRow {
                at: attempt.attempted_at.format(TIME).to_string(),
                status: attempt
                    .status
                    .map_or_else(|| "no answer".to_owned(), |status| status.to_string()),
                duration_ms: attempt.duration_ms,
                outcome: attempt.outcome.as_str(),
                error: attempt.error.unwrap_or_default(),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct EndpointPage {
    layout: Layout,
    app_id: String,
    endpoint: EndpointRow,
    created: String,
    deliveries: Vec<DeliveryRow>,
    next: Option<String>,
    can_change: bool,
    can_rotate: bool,
    can_delete: bool,
}

/// The endpoint named in the path, or a 404 page.
async fn endpoint(
    state: &ConsoleState,
    app: &Application,
    raw: &str,
) -> Result<WebhookEndpoint, ConsoleError> {
    let id = uuid::Uuid::parse_str(raw)
        .map(WebhookEndpointId::from_uuid)
        .map_err(|_| ConsoleError::NotFound)?;
    state
        .webhooks
        .get_webhook(app.id, id)
        .await
        .map_err(|error| match error {
            WebhookError::UnknownEndpoint => ConsoleError::NotFound,
            other => ConsoleError::Unknown(other.into()),
        })
}

async fn show(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let (raw_app, raw_endpoint) = path.into_inner();
    let app = application(&state, &raw_app).await?;
    let endpoint = endpoint(&state, &app, &raw_endpoint).await?;
    let deliveries = state
        .webhooks
        .list_deliveries(app.id, endpoint.id, page_request(query.after.as_deref())?)
        .await
        .map_err(|error| match error {
            WebhookError::UnknownEndpoint => ConsoleError::NotFound,
            other => ConsoleError::Unknown(other.into()),
        })?;
    let id = app.id.to_string();
    let page = EndpointPage {
        layout: Layout::signed_in("Webhook endpoint", &who, &state, &req, Some(id.clone())).await?,
        app_id: id,
        created: endpoint.created_at.format(TIME).to_string(),
        endpoint: endpoint_row(&endpoint),
        deliveries: deliveries.items.into_iter().map(delivery_row).collect(),
        next: deliveries.next.map(|cursor| cursor.id().to_string()),
        can_change: who.account.role.allows(ConsoleAction::Change),
        can_rotate: who.account.role.allows(ConsoleAction::ManageKeys),
        can_delete: who.account.role.allows(ConsoleAction::Delete),
    };
    render(&page, &page.layout)
}

#[derive(serde::Deserialize)]
struct EndpointForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    old_valid_for: String,
    confirm: Option<String>,
}

fn endpoint_location(app: &Application, endpoint: &WebhookEndpoint) -> String {
    format!("/console/apps/{}/webhooks/{}", app.id, endpoint.id)
}

async fn set_enabled(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<EndpointForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let (raw_app, raw_endpoint) = path.into_inner();
    let app = application(&state, &raw_app).await?;
    let endpoint = endpoint(&state, &app, &raw_endpoint).await?;
    let enabled = match form.enabled.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(ConsoleError::BadRequest(
                "The form must say enabled=yes or enabled=no. Go back, reload the page and use its button.".to_owned(),
            ));
        }
    };
    let change = WebhookEndpointChange {
        url: None,
        event_types: None,
        enabled: Some(enabled),
        description: None,
    };
    state
        .webhooks
        .update_webhook(app.id, endpoint.id, change, &who.changed_by(&state, &req))
        .await
        .map_err(|error| ConsoleError::Unknown(error.into()))?;
    let message = if enabled {
        "Endpoint enabled: new events are delivered to it."
    } else {
        "Endpoint disabled: no event is delivered to it until it is enabled."
    };
    Ok(flash::redirect_with(
        &endpoint_location(&app, &endpoint),
        message,
    ))
}

/// How long the old secret keeps signing: the choices offered, in seconds.
const GRACE_CHOICES: [(i64, &str); 4] = [
    (0, "at once"),
    (3600, "1 hour"),
    (86_400, "1 day"),
    (604_800, "7 days"),
];

async fn rotate(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<EndpointForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::ManageKeys)?;
    let (raw_app, raw_endpoint) = path.into_inner();
    let app = application(&state, &raw_app).await?;
    let endpoint = endpoint(&state, &app, &raw_endpoint).await?;
    let Some((seconds, grace)) = GRACE_CHOICES
        .iter()
        .find(|(seconds, _)| seconds.to_string() == form.old_valid_for)
    else {
        return Err(ConsoleError::BadRequest(
            "Choose how long the old secret keeps signing from the list. Go back and try again."
                .to_owned(),
        ));
    };
    let id = app.id.to_string();
    let location = endpoint_location(&app, &endpoint);
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout =
            Layout::signed_in("Rotate a secret", &who, &state, &req, Some(id.clone())).await?;
        return confirm::ask(
            layout,
            "Rotate this endpoint's signing secret?",
            &format!(
                "Messages are signed with both secrets until the old one ends ({grace}); update your receiver to the new one before then."
            ),
            &format!("{location}/rotate"),
            &[("old_valid_for", &form.old_valid_for)],
            "Rotate the secret",
            &location,
        );
    }
    let rotated = state
        .webhooks
        .rotate_webhook_secret(
            app.id,
            endpoint.id,
            chrono::Duration::seconds(*seconds),
            &who.changed_by(&state, &req),
        )
        .await
        .map_err(|error| match error {
            WebhookError::UnknownEndpoint => ConsoleError::NotFound,
            other => ConsoleError::Unknown(other.into()),
        })?;
    let layout = Layout::signed_in("Secret rotated", &who, &state, &req, Some(id.clone())).await?;
    let old_valid_until = rotated
        .endpoint
        .previous_secret
        .as_ref()
        .map(|previous| previous.expires_at.format(TIME).to_string());
    let page = secret_page(
        layout,
        &id,
        &rotated.endpoint,
        rotated.secret.expose(),
        "The signing secret is rotated",
        old_valid_until,
    );
    render(&page, &page.layout)
}

async fn delete(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<EndpointForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Delete)?;
    let (raw_app, raw_endpoint) = path.into_inner();
    let app = application(&state, &raw_app).await?;
    let endpoint = endpoint(&state, &app, &raw_endpoint).await?;
    let list = format!("/console/apps/{}/webhooks", app.id);
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout = Layout::signed_in(
            "Delete an endpoint",
            &who,
            &state,
            &req,
            Some(app.id.to_string()),
        )
        .await?;
        let location = endpoint_location(&app, &endpoint);
        return confirm::ask(
            layout,
            &format!("Delete the endpoint {}?", endpoint.url.as_str()),
            "No event is delivered to it any more, and its delivery log goes with it. It cannot be undone.",
            &format!("{location}/delete"),
            &[],
            "Delete the endpoint",
            &location,
        );
    }
    state
        .webhooks
        .delete_webhook(app.id, endpoint.id, &who.changed_by(&state, &req))
        .await
        .map_err(|error| match error {
            WebhookError::UnknownEndpoint => ConsoleError::NotFound,
            other => ConsoleError::Unknown(other.into()),
        })?;
    Ok(flash::redirect_with(
        &list,
        &format!("Endpoint {} deleted.", endpoint.url.as_str()),
    ))
}

async fn test(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<EndpointForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let (raw_app, raw_endpoint) = path.into_inner();
    let app = application(&state, &raw_app).await?;
    let endpoint = endpoint(&state, &app, &raw_endpoint).await?;
    let location = endpoint_location(&app, &endpoint);
    let message = match state.webhooks.send_test_webhook(app.id, endpoint.id).await {
        Ok(_) => {
            "Test message queued: it appears in the delivery log below within seconds (reload)."
                .to_owned()
        }
        Err(WebhookError::TargetRefused(why)) => {
            format!("The test was not sent: {why}. Change the endpoint's URL to a public address.")
        }
        Err(WebhookError::UnknownEndpoint) => return Err(ConsoleError::NotFound),
        Err(other) => return Err(ConsoleError::Unknown(other.into())),
    };
    Ok(flash::redirect_with(&location, &message))
}

async fn redeliver(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String, String)>,
    form: web::Form<EndpointForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let (raw_app, raw_endpoint, raw_delivery) = path.into_inner();
    let app = application(&state, &raw_app).await?;
    let endpoint = endpoint(&state, &app, &raw_endpoint).await?;
    let delivery = uuid::Uuid::parse_str(&raw_delivery)
        .map(WebhookDeliveryId::from_uuid)
        .map_err(|_| ConsoleError::NotFound)?;
    let location = endpoint_location(&app, &endpoint);
    let message = match state
        .webhooks
        .redeliver(app.id, endpoint.id, delivery)
        .await
    {
        Ok(_) => "Queued again: the next attempt appears in the delivery log within seconds (reload).".to_owned(),
        Err(WebhookError::DeliveryInFlight) => {
            "That delivery is being sent right now. Wait a few seconds, reload, and redeliver it if it failed.".to_owned()
        }
        Err(WebhookError::UnknownDelivery | WebhookError::UnknownEndpoint) => {
            return Err(ConsoleError::NotFound);
        }
        Err(other) => return Err(ConsoleError::Unknown(other.into())),
    };
    Ok(flash::redirect_with(&location, &message))
}
