//! The audit log's wire format: `GET /api/admin/audit`.

use crate::dto_licenses::time;
use crate::error::ApiError;
use crate::pages::next_cursor;
use chrono::{DateTime, Utc};
use domain::event::{ActorFilter, Detail, Event, EventFilter, EventType};
use domain::page::Page;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `GET /api/admin/audit?action=license.redeemed&actor=end_user&since=…`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events of this type, a dotted name such as `license.redeemed` (docs/events.md
    /// lists them).
    #[param(schema_with = event_types)]
    pub action: Option<String>,
    /// Only events by actors of this kind (`operator`, `admin_key`, `system`, `end_user`), or
    /// by one actor: an admin key's id (`adm_…`) or a user's id.
    #[param(min_length = 1, max_length = 64)]
    pub actor: Option<String>,
    /// Only events made to this target (a user's, license's or device's id).
    #[param(value_type = Option<String>, format = Uuid)]
    pub target: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
}

/// The schema of `action`: the event types, from the domain's own list.
fn event_types() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(EventType::ALL.map(EventType::as_str)))
        .build()
}

impl AuditQuery {
    pub fn try_into_domain(self) -> Result<EventFilter, ApiError> {
        let event_type = self
            .action
            .map(|action| {
                EventType::parse(&action)
                    .ok_or_else(|| ApiError::field("action", "must be an event type"))
            })
            .transpose()?;
        let actor = self
            .actor
            .map(|actor| match actor.chars().count() {
                1..=64 => Ok(ActorFilter::parse(&actor)),
                _ => Err(ApiError::field("actor", "must be 1 to 64 characters")),
            })
            .transpose()?;
        let target = self
            .target
            .map(|target| {
                Uuid::parse_str(&target).map_err(|_| ApiError::field("target", "must be a UUID"))
            })
            .transpose()?;
        Ok(EventFilter {
            event_type,
            actor,
            target,
            since: time("since", self.since.as_deref())?,
            until: time("until", self.until.as_deref())?,
        })
    }
}

/// Who made a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorResponse {
    /// `operator`, `admin_key`, `system` or `end_user`.
    pub kind: &'static str,
    /// The admin key's id (`adm_…`), the user's id or a console operator's account id; null
    /// for the operator token and the system.
    pub id: Option<String>,
}

/// What a change was made to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetResponse {
    /// `user`, `license`, `device`, `ban`, `application` or `webhook_endpoint`.
    pub kind: String,
    pub id: Uuid,
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: Uuid,
    /// The event type, such as `user.created`.
    pub action: &'static str,
    pub actor: ActorResponse,
    pub target: TargetResponse,
    /// The request's client address; null for the system's own work.
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// The `X-Request-Id` the request came with.
    pub request_id: Option<String>,
    /// What changed, redacted: never a secret, code or password (docs/events.md).
    #[schema(value_type = Object)]
    pub summary: Value,
    pub occurred_at: DateTime<Utc>,
}

impl From<Event> for AuditEventResponse {
    fn from(event: Event) -> Self {
        let summary: Map<String, Value> = event
            .summary
            .into_iter()
            .map(|(name, detail)| {
                let value = match detail {
                    Detail::Text(text) => Value::from(text),
                    Detail::Number(number) => Value::from(number),
                    Detail::Flag(flag) => Value::from(flag),
                };
                (name, value)
            })
            .collect();
        let context = event.context;
        Self {
            id: event.id.as_uuid(),
            action: event.event_type.as_str(),
            actor: ActorResponse {
                kind: event.actor.kind(),
                id: event.actor.id(),
            },
            target: TargetResponse {
                kind: event.target.kind,
                id: event.target.id,
            },
            client_ip: context
                .as_ref()
                .map(|context| context.client_ip.to_string()),
            user_agent: context
                .as_ref()
                .and_then(|context| context.user_agent.clone()),
            request_id: context.and_then(|context| context.request_id),
            summary: Value::Object(summary),
            occurred_at: event.occurred_at,
        }
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditListResponse {
    pub events: Vec<AuditEventResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<Event>> for AuditListResponse {
    fn from(page: Page<Event>) -> Self {
        Self {
            next_cursor: next_cursor(&page),
            events: page
                .items
                .into_iter()
                .map(AuditEventResponse::from)
                .collect(),
        }
    }
}
