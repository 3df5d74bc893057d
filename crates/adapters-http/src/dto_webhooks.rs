//! The admin API's webhook bodies: endpoints, their secrets (shown once), deliveries and
//! attempts.

use crate::error::ApiError;
use crate::pages::next_cursor;
use chrono::{DateTime, Utc};
use domain::event::EventType;
use domain::page::Page;
use domain::services::{EndpointWithSecret, NewWebhookEndpoint};
use domain::webhook::{
    EventTypePattern, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEndpointChange,
    WebhookInputError, WebhookUrl, description,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

fn input(field: &str) -> impl Fn(WebhookInputError) -> ApiError + '_ {
    move |error| ApiError::field(field, error)
}

/// The schema of `event_types`: 1 to 32 of `*`, `<noun>.*` or an event type, from the
/// domain's own list.
fn event_type_patterns() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let mut patterns = vec!["*".to_owned()];
    for kind in EventType::ALL {
        if let Some((noun, _)) = kind.as_str().split_once('.') {
            let all = format!("{noun}.*");
            if !patterns.contains(&all) {
                patterns.push(all);
            }
        }
        patterns.push(kind.as_str().to_owned());
    }
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(patterns)),
        )
        .min_items(Some(1))
        .max_items(Some(EventTypePattern::MAX_PER_ENDPOINT))
        .build()
}

fn event_type_patterns_or_null() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(event_type_patterns())
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}

/// `POST /api/admin/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://shop.example.com/hooks/latchkey", "event_types": ["license.*", "user.banned"], "description": "the shop"}))]
pub struct CreateWebhookRequest {
    /// Where deliveries are POSTed: an http(s) URL of at most 2048 characters, not resolving
    /// to a loopback, private, link-local or metadata address.
    #[schema(max_length = 2048, format = "uri")]
    pub url: String,
    /// 1 to 32 patterns: an event type (`user.created`), every type of a noun
    /// (`license.*`), or `*` for all.
    #[schema(schema_with = event_type_patterns)]
    pub event_types: Vec<String>,
    /// Default true.
    pub enabled: Option<bool>,
    /// At most 256 characters; default empty.
    #[schema(max_length = 256)]
    pub description: Option<String>,
}

impl CreateWebhookRequest {
    pub fn try_into_domain(self) -> Result<NewWebhookEndpoint, ApiError> {
        Ok(NewWebhookEndpoint {
            url: WebhookUrl::parse(&self.url).map_err(input("url"))?,
            event_types: EventTypePattern::parse_all(&self.event_types)
                .map_err(input("event_types"))?,
            enabled: self.enabled.unwrap_or(true),
            description: description(self.description.unwrap_or_default())
                .map_err(input("description"))?,
        })
    }
}

/// `PATCH /api/admin/webhooks/{id}`: every field optional.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true}))]
pub struct UpdateWebhookRequest {
    #[schema(max_length = 2048, format = "uri")]
    pub url: Option<String>,
    /// As when creating; null leaves them as they are.
    #[schema(schema_with = event_type_patterns_or_null)]
    pub event_types: Option<Vec<String>>,
    /// Enabling an endpoint the server disabled clears `disabled_reason`.
    pub enabled: Option<bool>,
    #[schema(max_length = 256)]
    pub description: Option<String>,
}

impl UpdateWebhookRequest {
    pub fn try_into_domain(self) -> Result<WebhookEndpointChange, ApiError> {
        Ok(WebhookEndpointChange {
            url: self
                .url
                .map(|url| WebhookUrl::parse(&url).map_err(input("url")))
                .transpose()?,
            event_types: self
                .event_types
                .map(|types| EventTypePattern::parse_all(&types).map_err(input("event_types")))
                .transpose()?,
            enabled: self.enabled,
            description: self
                .description
                .map(|text| description(text).map_err(input("description")))
                .transpose()?,
        })
    }
}

/// `POST /api/admin/webhooks/{id}/rotate-secret`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateWebhookSecretRequest {
    /// How long the old secret keeps signing beside the new one (both signatures are sent):
    /// 0 to 604800 seconds (7 days); default 86400.
    #[serde(default, deserialize_with = "crate::dto::whole::option")]
    #[schema(minimum = 0, maximum = 604_800)]
    pub old_valid_for_seconds: Option<i64>,
}

impl RotateWebhookSecretRequest {
    pub const MAX_OVERLAP_SECONDS: i64 = 604_800;

    pub fn try_into_domain(self) -> Result<chrono::Duration, ApiError> {
        match self.old_valid_for_seconds.unwrap_or(86_400) {
            seconds @ 0..=Self::MAX_OVERLAP_SECONDS => Ok(chrono::Duration::seconds(seconds)),
            _ => Err(ApiError::field(
                "old_valid_for_seconds",
                "must be between 0 and 604800",
            )),
        }
    }
}

/// A webhook endpoint. Its secret is never shown again after creation or rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookResponse {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub description: String,
    /// Why the server turned it off: `gone` (the target answered 410) or `failing` (five
    /// days of failed attempts); null otherwise.
    pub disabled_reason: Option<&'static str>,
    /// Since when every attempt has failed; null while it succeeds.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret still signs, after a rotation.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for WebhookResponse {
    fn from(endpoint: WebhookEndpoint) -> Self {
        Self {
            id: endpoint.id.as_uuid(),
            url: endpoint.url.as_str().to_owned(),
            event_types: endpoint
                .event_types
                .iter()
                .map(|pattern| pattern.as_str().to_owned())
                .collect(),
            enabled: endpoint.enabled,
            description: endpoint.description,
            disabled_reason: endpoint.disabled_reason.map(|reason| reason.as_str()),
            failing_since: endpoint.failing_since,
            previous_secret_expires_at: endpoint
                .previous_secret
                .map(|previous| previous.expires_at),
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }
}

/// An endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecretResponse {
    #[serde(flatten)]
    pub endpoint: WebhookResponse,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

impl From<EndpointWithSecret> for WebhookWithSecretResponse {
    fn from(created: EndpointWithSecret) -> Self {
        Self {
            secret: created.secret.expose().to_owned(),
            endpoint: created.endpoint.into(),
        }
    }
}

/// One page of endpoints, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookListResponse {
    pub webhooks: Vec<WebhookResponse>,
    pub next_cursor: Option<String>,
}

impl From<Page<WebhookEndpoint>> for WebhookListResponse {
    fn from(page: Page<WebhookEndpoint>) -> Self {
        Self {
            next_cursor: next_cursor(&page),
            webhooks: page.items.into_iter().map(WebhookResponse::from).collect(),
        }
    }
}

/// One attempt to send a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttemptResponse {
    pub attempted_at: DateTime<Utc>,
    /// The target's answer; null when there was none.
    pub status: Option<u16>,
    pub duration_ms: u32,
    /// The first 2 KiB of the answer's body.
    pub response: String,
    /// Why there was no usable answer (timeout, refused target, network error).
    pub error: Option<String>,
    /// `succeeded`, `gone` or `failed`.
    pub outcome: &'static str,
}

impl From<WebhookAttempt> for WebhookAttemptResponse {
    fn from(attempt: WebhookAttempt) -> Self {
        Self {
            attempted_at: attempt.attempted_at,
            status: attempt.status,
            duration_ms: attempt.duration_ms,
            response: attempt.response,
            error: attempt.error,
            outcome: attempt.outcome.as_str(),
        }
    }
}

/// One message for one endpoint, with its attempts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryResponse {
    pub id: Uuid,
    /// The `webhook-id` header: the same on every attempt and redelivery.
    pub message_id: Uuid,
    /// The event delivered (its id in the audit log); null for a test message.
    pub event_id: Option<Uuid>,
    /// The event type, or `webhook_endpoint.test`.
    #[serde(rename = "type")]
    pub message_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub state: &'static str,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub attempts: Vec<WebhookAttemptResponse>,
}

impl From<WebhookDelivery> for WebhookDeliveryResponse {
    fn from(delivery: WebhookDelivery) -> Self {
        let pending = delivery.state == domain::webhook::DeliveryState::Pending;
        Self {
            id: delivery.id.as_uuid(),
            message_id: delivery.message_id,
            event_id: delivery.event_id.map(|id| id.as_uuid()),
            message_type: delivery.message_type,
            state: delivery.state.as_str(),
            next_attempt_at: pending.then_some(delivery.next_attempt_at),
            created_at: delivery.created_at,
            attempts: delivery
                .attempts
                .into_iter()
                .map(WebhookAttemptResponse::from)
                .collect(),
        }
    }
}

/// One page of an endpoint's deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryListResponse {
    pub deliveries: Vec<WebhookDeliveryResponse>,
    pub next_cursor: Option<String>,
}

impl From<Page<WebhookDelivery>> for WebhookDeliveryListResponse {
    fn from(page: Page<WebhookDelivery>) -> Self {
        Self {
            next_cursor: next_cursor(&page),
            deliveries: page
                .items
                .into_iter()
                .map(WebhookDeliveryResponse::from)
                .collect(),
        }
    }
}
