//! The events the use cases record, one builder per type, so each type's summary is written
//! in one place (and listed in docs/events.md). Every builder takes who made the change.

use crate::application::{ApplicationUpdate, SecretToRotate};
use crate::ban::NewBan;
use crate::event::{ChangedBy, Event, EventTarget, EventType};
use crate::file::StoredFile;
use crate::license::{License, NewLicense};
use crate::user::{Adjustment, Credential, Device, User};
use crate::values::{ApplicationId, BanId, UserId};
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
    let event = match &adjustment.reason {
        Some(reason) => event.with("reason", reason.as_str()),
        None => event,
    };
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

/// A user deleted (from the console), named by id with their username for the record.
pub(super) fn user_deleted(
    app: ApplicationId,
    user: &User,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    by.event(app, EventType::UserDeleted, EventTarget::user(user.id), at)
        .with("username", user.username.as_str())
}

/// An unused license deleted (from the console): named by its id, never by its code.
pub(super) fn license_deleted(
    app: ApplicationId,
    license: &License,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    let event = by.event(
        app,
        EventType::LicenseDeleted,
        EventTarget::license(license.id),
        at,
    );
    match license.duration.minutes() {
        Some(minutes) => event.with("minutes", i64::from(minutes)),
        None => event.with("lifetime", true),
    }
}

/// A license minted by an admin key: named by its id, never by its code.
pub(super) fn license_created(app: ApplicationId, license: &NewLicense, by: &ChangedBy) -> Event {
    let event = by.event(
        app,
        EventType::LicenseCreated,
        EventTarget::license(license.id),
        license.created_at,
    );
    match license.duration.minutes() {
        Some(minutes) => event.with("minutes", i64::from(minutes)),
        None => event.with("lifetime", true),
    }
}

/// A ban stored: by an admin key, or by the system (a cross-ban, or an identifier banned
/// with its user). A license or user ban names its target by id.
pub(super) fn ban_created(app: ApplicationId, ban: &NewBan, by: &ChangedBy) -> Event {
    let event = by
        .event(
            app,
            EventType::BanCreated,
            EventTarget::ban(ban.id),
            ban.created_at,
        )
        .with("type", ban.target.kind().as_str())
        .with("value", ban.target.value());
    let event = match &ban.reason {
        Some(reason) => event.with("reason", reason.as_str()),
        None => event,
    };
    match ban.expires_at {
        Some(at) => event.with("expires_at", at.to_rfc3339()),
        None => event,
    }
}

/// A user banned: beside its `ban.created`, so the user's own history shows it.
pub(super) fn user_banned(app: ApplicationId, user: UserId, ban: &NewBan, by: &ChangedBy) -> Event {
    by.event(
        app,
        EventType::UserBanned,
        EventTarget::user(user),
        ban.created_at,
    )
    .with("ban_id", ban.id.to_string())
}

/// A ban lifted; its `ban.created` (the same target) says what it was.
pub(super) fn ban_deleted(
    app: ApplicationId,
    ban: BanId,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    by.event(app, EventType::BanDeleted, EventTarget::ban(ban), at)
}

/// Settings changed: each field given, with its new value, named as the API names it.
pub(super) fn settings_changed(
    app: ApplicationId,
    update: &ApplicationUpdate,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    let mut event = by.event(
        app,
        EventType::ApplicationSettingsChanged,
        EventTarget::application(app),
        at,
    );
    if let Some(name) = &update.name {
        event = event.with("name", name.as_str());
    }
    let flags = [
        ("device_authentication", update.device_authentication),
        ("cross_banning", update.cross_banning),
        ("response_signing", update.response_signing),
        ("request_signing", update.request_signing),
        ("anonymous_access", update.anonymous_access),
        ("legacy_auth", update.legacy_auth),
    ];
    for (name, flag) in flags {
        if let Some(flag) = flag {
            event = event.with(name, flag);
        }
    }
    let numbers = [
        ("allowed_number_of_devices", update.device_limit),
        (
            "allowed_number_of_simultaneous_sessions",
            update.session_limit,
        ),
        ("session_lifetime_seconds", update.session_lifetime_seconds),
        ("max_user_variables", update.max_user_variables),
    ];
    for (name, number) in numbers {
        if let Some(number) = number {
            event = event.with(name, i64::from(number));
        }
    }
    event
}

/// A secret or key replaced: which one, and until when the old one stays valid. Never the
/// secret.
pub(super) fn secret_rotated(
    app: ApplicationId,
    which: SecretToRotate,
    old_valid_until: Option<DateTime<Utc>>,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    let which = match which {
        SecretToRotate::ApiSecret => "api_secret",
        SecretToRotate::AdminApiKey => "admin_api_key",
        SecretToRotate::ResponseSigningKey => "response_signing_key",
        SecretToRotate::RequestSigningKey => "request_signing_key",
        SecretToRotate::FilesKey => "files_key",
    };
    let event = by
        .event(
            app,
            EventType::ApplicationSecretRotated,
            EventTarget::application(app),
            at,
        )
        .with("which", which);
    match old_valid_until {
        Some(until) => event.with("old_valid_until", until.to_rfc3339()),
        None => event,
    }
}

/// `file.created` or `file.replaced` (an upload by name over an existing file); never the
/// file's bytes.
pub(super) fn file_stored(
    app: ApplicationId,
    stored: EventType,
    file: &StoredFile,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    by.event(app, stored, EventTarget::file(file.id), at)
        .with("name", file.name.as_str())
        .with(
            "size_bytes",
            i64::try_from(file.size_bytes).unwrap_or(i64::MAX),
        )
        .with("sha256", data_encoding::HEXLOWER.encode(&file.sha256))
        .with("is_public", file.is_public)
        .with("is_encrypted", file.is_encrypted)
}

pub(super) fn file_deleted(
    app: ApplicationId,
    file: &StoredFile,
    by: &ChangedBy,
    at: DateTime<Utc>,
) -> Event {
    by.event(app, EventType::FileDeleted, EventTarget::file(file.id), at)
        .with("name", file.name.as_str())
}
