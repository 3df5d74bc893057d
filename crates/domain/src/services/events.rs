//! The events the use cases record, one builder per type, so each type's summary is written
//! in one place (and listed in docs/events.md). Every builder takes who made the change.

use crate::event::{ChangedBy, Event, EventTarget, EventType};
use crate::license::License;
use crate::user::{Adjustment, Credential, Device, User};
use crate::values::{ApplicationId, UserId};
use crate::webhook::{EventTypePattern, WebhookEndpoint};
use chrono::{DateTime, Utc};

pub(super) fn user_created(app: ApplicationId, user: &User, by: &ChangedBy) -> Event {
    let credential = match user.credential {
        Credential::Password(_) => "username_password",
        Credential::LicenseCode => "license_code",
    };
    by.event(
        app,
        EventType::UserCreated,
        EventTarget::user(user.id),
        user.created_at,
    )
    .with("username", user.username.as_str())
    .with("credential", credential)
}

/// A license used by `user`: `license.redeemed` by a license sign-up, `license.activated`
/// by an activation.
pub(super) fn license_used(
    app: ApplicationId,
    used: EventType,
    license: &License,
    user: UserId,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    by.event(app, used, EventTarget::license(license.id), at)
        .with("user_id", user.to_string())
}

pub(super) fn device_registered(
    app: ApplicationId,
    device: &Device,
    user: UserId,
    by: &ChangedBy,
) -> Event {
    by.event(
        app,
        EventType::DeviceRegistered,
        EventTarget::device(device.id),
        device.registered_at,
    )
    .with("user_id", user.to_string())
    .with("hardware_id", device.hardware_id.as_str())
}

/// A membership changed by `adjustment`: an activation's (which names its license) or an
/// admin's.
pub(super) fn membership_adjusted(
    app: ApplicationId,
    user: UserId,
    adjustment: &Adjustment,
    by: &ChangedBy,
) -> Event {
    let event = by
        .event(
            app,
            EventType::MembershipAdjusted,
            EventTarget::user(user),
            adjustment.occurred_at,
        )
        .with("minutes", adjustment.minutes)
        .with("grants_lifetime_access", adjustment.grants_lifetime_access)
        .with(
            "revokes_lifetime_access",
            adjustment.revokes_lifetime_access,
        );
    match adjustment.license_id {
        Some(license) => event.with("license_id", license.to_string()),
        None => event,
    }
}

pub(super) fn devices_reset(
    app: ApplicationId,
    user: UserId,
    removed: u64,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    by.event(app, EventType::DevicesReset, EventTarget::user(user), at)
        .with(
            "devices_removed",
            i64::try_from(removed).unwrap_or(i64::MAX),
        )
}

/// A change to a webhook endpoint: created, updated, deleted, disabled or its secret
/// rotated. The summary names the URL's host only: a path or query may carry a token.
pub(super) fn webhook_endpoint(
    event_type: EventType,
    endpoint: &WebhookEndpoint,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    let patterns: Vec<&str> = endpoint
        .event_types
        .iter()
        .map(EventTypePattern::as_str)
        .collect();
    let event = by
        .event(
            endpoint.application_id,
            event_type,
            EventTarget::webhook_endpoint(endpoint.id),
            at,
        )
        .with("host", endpoint.url.as_url().host_str().unwrap_or_default())
        .with("event_types", patterns.join(" "))
        .with("enabled", endpoint.enabled);
    match endpoint.disabled_reason {
        Some(reason) => event.with("disabled_reason", reason.as_str()),
        None => event,
    }
}
