//! Events: one per state change, written in the change's own transaction
//! ([`crate::ports::Transaction::record_event`]), so a change that commits has its event and
//! one that rolls back has none. They are the audit log, and what webhooks deliver.
//!
//! An event never holds a secret, a license code or a password: a license is named by its id,
//! and [`EventSummary`] holds only what the event type's docs list (docs/events.md).

use crate::values::{ApplicationId, ClientIp, EventId, OperatorId, UserId};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What happened, as a dotted name: `user.created`, `license.redeemed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    UserCreated,
    UserDeleted,
    UserBanned,
    LicenseCreated,
    LicenseRedeemed,
    LicenseActivated,
    LicenseDeleted,
    MembershipAdjusted,
    DeviceRegistered,
    DevicesReset,
    BanCreated,
    BanDeleted,
    ApplicationSettingsChanged,
    ApplicationSecretRotated,
    WebhookEndpointCreated,
    WebhookEndpointUpdated,
    WebhookEndpointDeleted,
    WebhookEndpointDisabled,
    WebhookEndpointSecretRotated,
    FileCreated,
    FileReplaced,
    FileDeleted,
}

impl EventType {
    pub const ALL: [Self; 22] = [
        Self::UserCreated,
        Self::UserDeleted,
        Self::UserBanned,
        Self::LicenseCreated,
        Self::LicenseRedeemed,
        Self::LicenseActivated,
        Self::LicenseDeleted,
        Self::MembershipAdjusted,
        Self::DeviceRegistered,
        Self::DevicesReset,
        Self::BanCreated,
        Self::BanDeleted,
        Self::ApplicationSettingsChanged,
        Self::ApplicationSecretRotated,
        Self::WebhookEndpointCreated,
        Self::WebhookEndpointUpdated,
        Self::WebhookEndpointDeleted,
        Self::WebhookEndpointDisabled,
        Self::WebhookEndpointSecretRotated,
        Self::FileCreated,
        Self::FileReplaced,
        Self::FileDeleted,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserDeleted => "user.deleted",
            Self::UserBanned => "user.banned",
            Self::LicenseCreated => "license.created",
            Self::LicenseRedeemed => "license.redeemed",
            Self::LicenseActivated => "license.activated",
            Self::LicenseDeleted => "license.deleted",
            Self::MembershipAdjusted => "membership.adjusted",
            Self::DeviceRegistered => "device.registered",
            Self::DevicesReset => "devices.reset",
            Self::BanCreated => "ban.created",
            Self::BanDeleted => "ban.deleted",
            Self::ApplicationSettingsChanged => "application.settings_changed",
            Self::ApplicationSecretRotated => "application.secret_rotated",
            Self::WebhookEndpointCreated => "webhook_endpoint.created",
            Self::WebhookEndpointUpdated => "webhook_endpoint.updated",
            Self::WebhookEndpointDeleted => "webhook_endpoint.deleted",
            Self::WebhookEndpointDisabled => "webhook_endpoint.disabled",
            Self::WebhookEndpointSecretRotated => "webhook_endpoint.secret_rotated",
            Self::FileCreated => "file.created",
            Self::FileReplaced => "file.replaced",
            Self::FileDeleted => "file.deleted",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }
}

/// Who made the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The operator token (there is one per deployment).
    Operator,
    /// An application's admin API key, by its id ([`Actor::admin_key_id`]).
    AdminKey(String),
    /// The server itself: cross-bans, purges, webhook endpoints it disabled.
    System,
    /// An end user, for their own sign-up, activation or device.
    EndUser(UserId),
    /// An operator signed in to the console, by their account's id (kind `operator`, like
    /// the operator token, whose events have no id).
    ConsoleOperator(OperatorId),
}

impl Actor {
    /// `operator`, `admin_key`, `system` or `end_user`.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Operator | Self::ConsoleOperator(_) => "operator",
            Self::AdminKey(_) => "admin_key",
            Self::System => "system",
            Self::EndUser(_) => "end_user",
        }
    }

    /// The admin key's id, the user's id or the console operator's account id; none for
    /// the operator token and the system.
    #[must_use]
    pub fn id(&self) -> Option<String> {
        match self {
            Self::AdminKey(id) => Some(id.clone()),
            Self::EndUser(id) => Some(id.to_string()),
            Self::ConsoleOperator(id) => Some(id.to_string()),
            Self::Operator | Self::System => None,
        }
    }

    /// The actor of a stored event, from [`Actor::kind`] and [`Actor::id`]; `None` when they
    /// name no actor.
    #[must_use]
    pub fn from_parts(kind: &str, id: Option<&str>) -> Option<Self> {
        match (kind, id) {
            ("operator", None) => Some(Self::Operator),
            ("system", None) => Some(Self::System),
            ("admin_key", Some(id)) => Some(Self::AdminKey(id.to_owned())),
            ("end_user", Some(id)) => Uuid::parse_str(id)
                .ok()
                .map(|id| Self::EndUser(UserId::from_uuid(id))),
            ("operator", Some(id)) => Uuid::parse_str(id)
                .ok()
                .map(|id| Self::ConsoleOperator(OperatorId::from_uuid(id))),
            _ => None,
        }
    }

    /// An admin key's id: the first 12 hex digits of its SHA-256 digest, `adm_3f9a0c12d4e7`.
    /// It names the key in the audit log without revealing it (the key has 130 random bits;
    /// 48 bits of its digest do not help find it), and a rotated key gets a new id.
    #[must_use]
    pub fn admin_key_id(digest: &crate::values::Digest) -> String {
        let hex: String = digest
            .as_bytes()
            .iter()
            .take(6)
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("adm_{hex}")
    }
}

/// What the change was made to: a kind (`user`, `license`, `ban`, `application`,
/// `webhook_endpoint`, `device`) and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTarget {
    pub kind: String,
    pub id: Uuid,
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub client_ip: ClientIp,
    /// At most [`RequestContext::MAX_USER_AGENT`] characters of what the client sent.
    pub user_agent: Option<String>,
    /// The request's id, as answered in `X-Request-Id`.
    pub request_id: Option<String>,
}

impl RequestContext {
    pub const MAX_USER_AGENT: usize = 256;

    /// A request from `client_ip` with no user agent or id (tests, the CLI).
    #[must_use]
    pub const fn from_ip(client_ip: ClientIp) -> Self {
        Self {
            client_ip,
            user_agent: None,
            request_id: None,
        }
    }
}

/// Who made a change, and from which request: what every event of the change records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedBy {
    pub actor: Actor,
    /// `None` for the system's own work.
    pub context: Option<RequestContext>,
}

impl ChangedBy {
    /// The server's own work: cross-bans, endpoints it disabled.
    #[must_use]
    pub const fn system() -> Self {
        Self {
            actor: Actor::System,
            context: None,
        }
    }

    /// An end user's own change, through the request `context`.
    #[must_use]
    pub const fn end_user(user: UserId, context: RequestContext) -> Self {
        Self {
            actor: Actor::EndUser(user),
            context: Some(context),
        }
    }

    /// The event of `event_type` this actor made to `target`, with an empty summary.
    #[must_use]
    pub fn event(
        &self,
        application_id: ApplicationId,
        event_type: EventType,
        target: EventTarget,
        occurred_at: DateTime<Utc>,
    ) -> Event {
        Event {
            id: EventId::generate(),
            application_id,
            event_type,
            actor: self.actor.clone(),
            target,
            context: self.context.clone(),
            summary: EventSummary::new(),
            occurred_at,
        }
    }
}

/// One value of an event's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Text(String),
    Number(i64),
    Flag(bool),
}

/// What changed, redacted: the named values the event type's docs list.
pub type EventSummary = BTreeMap<String, Detail>;

/// One recorded state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub application_id: ApplicationId,
    pub event_type: EventType,
    pub actor: Actor,
    pub target: EventTarget,
    /// The request that made the change; `None` for the system's own work.
    pub context: Option<RequestContext>,
    pub summary: EventSummary,
    pub occurred_at: DateTime<Utc>,
}

impl Event {
    /// The event with `name` set to `detail` in its summary.
    #[must_use]
    pub fn with(mut self, name: &str, detail: impl Into<Detail>) -> Self {
        self.summary.insert(name.to_owned(), detail.into());
        self
    }
}

impl EventTarget {
    #[must_use]
    pub fn file(id: crate::values::FileId) -> Self {
        Self {
            kind: "file".to_owned(),
            id: id.as_uuid(),
        }
    }

    #[must_use]
    pub fn user(id: UserId) -> Self {
        Self {
            kind: "user".to_owned(),
            id: id.as_uuid(),
        }
    }

    #[must_use]
    pub fn license(id: crate::values::LicenseId) -> Self {
        Self {
            kind: "license".to_owned(),
            id: id.as_uuid(),
        }
    }

    #[must_use]
    pub fn ban(id: crate::values::BanId) -> Self {
        Self {
            kind: "ban".to_owned(),
            id: id.as_uuid(),
        }
    }

    #[must_use]
    pub fn application(id: ApplicationId) -> Self {
        Self {
            kind: "application".to_owned(),
            id: id.as_uuid(),
        }
    }

    #[must_use]
    pub fn webhook_endpoint(id: crate::values::WebhookEndpointId) -> Self {
        Self {
            kind: "webhook_endpoint".to_owned(),
            id: id.as_uuid(),
        }
    }

    #[must_use]
    pub fn device(id: crate::values::DeviceId) -> Self {
        Self {
            kind: "device".to_owned(),
            id: id.as_uuid(),
        }
    }
}

impl From<&str> for Detail {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Detail {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<i64> for Detail {
    fn from(number: i64) -> Self {
        Self::Number(number)
    }
}

impl From<bool> for Detail {
    fn from(flag: bool) -> Self {
        Self::Flag(flag)
    }
}

/// Which events an audit list shows; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub event_type: Option<EventType>,
    pub actor: Option<ActorFilter>,
    /// The target's id.
    pub target: Option<Uuid>,
    /// Occurred at or after.
    pub since: Option<DateTime<Utc>>,
    /// Occurred before.
    pub until: Option<DateTime<Utc>>,
}

/// An `actor` filter: every actor of a kind, or one actor by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    /// `operator`, `admin_key`, `system` or `end_user`.
    Kind(&'static str),
    /// An admin key's id (`adm_…`) or a user's id.
    Id(String),
}

impl ActorFilter {
    /// An actor kind's name, else an id.
    #[must_use]
    pub fn parse(raw: &str) -> Self {
        ["operator", "admin_key", "system", "end_user"]
            .into_iter()
            .find(|kind| *kind == raw)
            .map_or_else(|| Self::Id(raw.to_owned()), Self::Kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Digest;

    #[test]
    fn every_event_type_reads_back_from_its_dotted_name() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
            let (noun, verb) = kind.as_str().split_once('.').unwrap();
            assert!(!noun.is_empty() && !verb.is_empty() && !verb.contains('.'));
        }
        assert_eq!(EventType::parse("user.Created"), None);
        assert_eq!(EventType::parse("user"), None);
    }

    #[test]
    fn an_admin_key_is_named_by_a_prefix_of_its_digest() {
        let id = Actor::admin_key_id(&Digest::of("lk_adm_example"));
        assert_eq!(id.len(), "adm_".len() + 12);
        assert!(id.starts_with("adm_"));
        assert!(!id.contains("example"));
        assert_ne!(id, Actor::admin_key_id(&Digest::of("lk_adm_rotated")));
        assert_eq!(Actor::AdminKey(id.clone()).id(), Some(id));
        assert_eq!(Actor::System.id(), None);
    }

    #[test]
    fn an_actor_reads_back_from_its_kind_and_id() {
        let user = UserId::generate();
        for actor in [
            Actor::Operator,
            Actor::System,
            Actor::AdminKey("adm_0123456789ab".into()),
            Actor::EndUser(user),
            Actor::ConsoleOperator(OperatorId::generate()),
        ] {
            let id = actor.id();
            assert_eq!(Actor::from_parts(actor.kind(), id.as_deref()), Some(actor));
        }
        assert_eq!(Actor::from_parts("end_user", Some("not-a-uuid")), None);
        assert_eq!(Actor::from_parts("operator", Some("x")), None);
        assert_eq!(Actor::from_parts("root", None), None);
    }
}
