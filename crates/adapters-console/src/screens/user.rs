//! One user's page: the membership and its ledger, devices, addresses, live sessions and
//! variables, and the actions on them: adjust time, grant or revoke lifetime, reset devices,
//! set limits, set or delete a variable, ban, delete. The list and the search are in
//! [`super::users`].

use super::users::{membership_text, parse_user, shown_time, signed_minutes};
use crate::auth::SignedIn;
use crate::confirm;
use crate::flash;
use crate::page::{ConsoleError, Layout, render_status};
use crate::screens::overview::application;
use crate::state::ConsoleState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::application::Application;
use domain::ban::StoredBan;
use domain::duration::format_minutes;
use domain::errors::UserAdminError;
use domain::operator_account::ConsoleAction;
use domain::page::{Cursor, PageRequest};
use domain::services::{
    BanExpiry, BanRequest, BanSubject, DeviceResetTarget, MAX_BAN_REASON_CHARS, adjustment_reason,
};
use domain::session::UserVariable;
use domain::user::{AdjustmentKind, Credential, UserDetails, UserLimits};
use domain::values::{UserId, Username};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps/{id}/users/{user}", web::get().to(show))
        .route("/apps/{id}/users/{user}/adjust", web::post().to(adjust))
        .route("/apps/{id}/users/{user}/lifetime", web::post().to(lifetime))
        .route(
            "/apps/{id}/users/{user}/reset-devices",
            web::post().to(reset_devices),
        )
        .route("/apps/{id}/users/{user}/limits", web::post().to(limits))
        .route("/apps/{id}/users/{user}/ban", web::post().to(ban))
        .route("/apps/{id}/users/{user}/delete", web::post().to(delete))
        .route(
            "/apps/{id}/users/{user}/variables",
            web::post().to(set_variable),
        )
        .route(
            "/apps/{id}/users/{user}/variables/delete",
            web::post().to(delete_variable),
        );
}

struct LedgerRow {
    occurred: String,
    kind: &'static str,
    change: String,
    license: String,
    reason: String,
}

struct DeviceRow {
    hardware_id: String,
    registered: String,
}

struct VariableRow {
    name: String,
    value: String,
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    layout: Layout,
    app_id: String,
    user_id: String,
    username: String,
    credential: &'static str,
    membership: String,
    /// "not banned", or the ban in force with its end and reason.
    ban: String,
    active_until: String,
    is_lifetime: bool,
    signup_ip: String,
    last_ip: String,
    created: String,
    device_limit: String,
    session_limit: String,
    app_device_limit: u32,
    app_session_limit: u32,
    devices: Vec<DeviceRow>,
    live_sessions: u64,
    ledger: Vec<LedgerRow>,
    ledger_next: Option<String>,
    variables: Vec<VariableRow>,
    error: Option<String>,
    can_adjust: bool,
    can_reset: bool,
    can_change: bool,
    can_delete: bool,
}

#[derive(serde::Deserialize, Default)]
struct ShowQuery {
    ledger_after: Option<String>,
}

/// The user of `app`, or the not-found page.
async fn found_user(
    state: &ConsoleState,
    app: &Application,
    user: UserId,
) -> Result<UserDetails, ConsoleError> {
    state
        .users
        .user(app.id, user)
        .await
        .map_err(ConsoleError::Unknown)?
        .ok_or(ConsoleError::NotFound)
}

async fn user_page(
    req: &HttpRequest,
    state: &ConsoleState,
    who: &SignedIn,
    app: &Application,
    user: UserId,
    ledger_after: Option<&str>,
    error: Option<String>,
) -> Result<UserPage, ConsoleError> {
    let details = found_user(state, app, user).await?;
    let after = ledger_after
        .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
        .map(Cursor::after);
    let ledger = state
        .users
        .ledger(
            app.id,
            user,
            PageRequest::new(after, PageRequest::DEFAULT_LIMIT)
                .map_err(|error| ConsoleError::Unknown(error.into()))?,
        )
        .await
        .map_err(ConsoleError::Unknown)?;
    let live_sessions = state
        .users
        .live_sessions(app.id, user)
        .await
        .map_err(ConsoleError::Unknown)?;
    let variables = state
        .user_admin
        .list_user_variables(app.id, user)
        .await
        .map_err(|error| ConsoleError::Unknown(anyhow::Error::new(error)))?;
    let stored = &details.user;
    let app_id = app.id.to_string();
    Ok(UserPage {
        layout: Layout::signed_in(&stored.username, who, state, req, Some(app_id.clone())).await?,
        app_id,
        user_id: stored.id.to_string(),
        username: stored.username.clone(),
        credential: match stored.credential {
            Credential::Password(_) => "username and password",
            Credential::LicenseCode => "license code",
        },
        membership: membership_text(stored, chrono::Utc::now()),
        ban: details.ban.as_ref().map_or_else(
            || "not banned".to_owned(),
            |ban| {
                let until = ban.expires_at.map_or_else(
                    || "never expires".to_owned(),
                    |at| format!("until {}", shown_time(at)),
                );
                let reason = ban
                    .reason
                    .as_deref()
                    .map_or_else(String::new, |r| format!(": {r}"));
                format!("banned, {until}{reason}")
            },
        ),
        active_until: stored
            .membership
            .active_until
            .map_or_else(|| "none".to_owned(), shown_time),
        is_lifetime: stored.membership.is_lifetime,
        signup_ip: stored
            .signup_ip
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        last_ip: stored
            .last_ip
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        created: shown_time(stored.created_at),
        device_limit: stored
            .device_limit
            .map_or_else(String::new, |limit| limit.to_string()),
        session_limit: stored
            .session_limit
            .map_or_else(String::new, |limit| limit.to_string()),
        app_device_limit: app.settings.device_limit,
        app_session_limit: app.settings.session_limit,
        devices: details
            .devices
            .iter()
            .map(|device| DeviceRow {
                hardware_id: device.hardware_id.as_str().to_owned(),
                registered: shown_time(device.registered_at),
            })
            .collect(),
        live_sessions,
        ledger: ledger
            .items
            .iter()
            .map(|row| LedgerRow {
                occurred: shown_time(row.occurred_at),
                kind: match row.kind {
                    AdjustmentKind::License => "license",
                    AdjustmentKind::Admin => "admin",
                },
                change: if row.grants_lifetime_access {
                    "lifetime granted".to_owned()
                } else if row.revokes_lifetime_access {
                    "lifetime revoked".to_owned()
                } else if row.minutes >= 0 {
                    format!("+{}", format_minutes(row.minutes))
                } else {
                    format_minutes(row.minutes)
                },
                license: row.license_id.map_or_else(String::new, |id| id.to_string()),
                reason: row.reason.clone().unwrap_or_default(),
            })
            .collect(),
        ledger_next: ledger.next.map(|cursor| cursor.id().to_string()),
        variables: variables
            .into_iter()
            .map(|variable| VariableRow {
                name: variable.name,
                value: variable.value,
            })
            .collect(),
        error,
        can_adjust: who.account.role.allows(ConsoleAction::AdjustMembership),
        can_reset: who.account.role.allows(ConsoleAction::ResetDevices),
        can_change: who.account.role.allows(ConsoleAction::Change),
        can_delete: who.account.role.allows(ConsoleAction::Delete),
    })
}

async fn show(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(&state, &path.0).await?;
    let user = parse_user(&path.1)?;
    let page = user_page(
        &req,
        &state,
        &who,
        &app,
        user,
        query.ledger_after.as_deref(),
        None,
    )
    .await?;
    render_status(StatusCode::OK, &page, &page.layout)
}

/// The user's page again with `message` (400): bad input changes nothing.
async fn refuse(
    req: &HttpRequest,
    state: &ConsoleState,
    who: &SignedIn,
    app: &Application,
    user: UserId,
    message: String,
) -> Result<HttpResponse, ConsoleError> {
    let page = user_page(req, state, who, app, user, None, Some(message)).await?;
    render_status(StatusCode::BAD_REQUEST, &page, &page.layout)
}

fn user_location(app: &Application, user: UserId) -> String {
    format!("/console/apps/{}/users/{user}", app.id)
}

/// A domain refusal as a message for the page, or the failure.
fn refusal(error: UserAdminError) -> Result<String, ConsoleError> {
    match error {
        UserAdminError::UnknownUser => Err(ConsoleError::NotFound),
        UserAdminError::LifetimeMembership => Ok(
            "This membership is lifetime: time cannot be added or removed. Revoke lifetime first."
                .to_owned(),
        ),
        UserAdminError::TooManyVariables => Ok(
            "The user has as many variables as the application allows. Delete one first, or raise the limit in the settings."
                .to_owned(),
        ),
        UserAdminError::Busy => Err(ConsoleError::Busy),
        other => Err(ConsoleError::Unknown(anyhow::Error::new(other))),
    }
}

#[derive(serde::Deserialize)]
struct AdjustForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    reason: String,
}

async fn adjust(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<AdjustForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::AdjustMembership)?;
    let app = application(&state, &path.0).await?;
    let user = parse_user(&path.1)?;
    let checked = signed_minutes(&form.duration, &form.direction).and_then(|minutes| {
        adjustment_reason(&form.reason)
            .map(|reason| (minutes, reason))
            .map_err(|error| format!("The reason is too long: {error}."))
    });
    let (minutes, reason) = match checked {
        Ok(checked) => checked,
        Err(message) => return refuse(&req, &state, &who, &app, user, message).await,
    };
    match state
        .users
        .adjust_time(app.id, user, minutes, reason, &who.changed_by(&state, &req))
        .await
    {
        Ok(details) => {
            let until = details
                .user
                .membership
                .active_until
                .map_or_else(|| "none".to_owned(), shown_time);
            let verb = if minutes < 0 { "removed" } else { "added" };
            Ok(flash::redirect_with(
                &user_location(&app, user),
                &format!(
                    "{} {verb}. Active until {until}.",
                    format_minutes(minutes.abs())
                ),
            ))
        }
        Err(error) => {
            let message = refusal(error)?;
            refuse(&req, &state, &who, &app, user, message).await
        }
    }
}

#[derive(serde::Deserialize)]
struct LifetimeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    grant: String,
}

async fn lifetime(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<LifetimeForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::AdjustMembership)?;
    let app = application(&state, &path.0).await?;
    let user = parse_user(&path.1)?;
    let grant = form.grant == "yes";
    let details = match state
        .user_admin
        .set_lifetime_access(app.id, user, grant, &who.changed_by(&state, &req))
        .await
    {
        Ok(details) => details,
        Err(error) => {
            let message = refusal(error)?;
            return refuse(&req, &state, &who, &app, user, message).await;
        }
    };
    let message = if grant {
        "Lifetime access granted.".to_owned()
    } else {
        format!(
            "Lifetime access revoked. Active until {}.",
            details
                .user
                .membership
                .active_until
                .map_or_else(|| "none".to_owned(), shown_time)
        )
    };
    Ok(flash::redirect_with(&user_location(&app, user), &message))
}

#[derive(serde::Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
    #[serde(default)]
    reason: String,
}

async fn reset_devices(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::ResetDevices)?;
    let app = application(&state, &path.0).await?;
    let user = parse_user(&path.1)?;
    let back = user_location(&app, user);
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout =
            Layout::signed_in("Confirm", &who, &state, &req, Some(app.id.to_string())).await?;
        return confirm::ask(
            layout,
            "Reset this user's devices?",
            "Every registered device is forgotten and its sessions end; the next sign-in registers a device again.",
            &format!("{back}/reset-devices"),
            &[],
            "Reset devices",
            &back,
        );
    }
    match state
        .user_admin
        .reset_devices(
            &app,
            DeviceResetTarget::User(user),
            &who.changed_by(&state, &req),
        )
        .await
    {
        Ok(_) => Ok(flash::redirect_with(&back, "Devices reset.")),
        Err(error) => {
            let message = refusal(error)?;
            refuse(&req, &state, &who, &app, user, message).await
        }
    }
}

#[derive(serde::Deserialize)]
struct LimitsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    device_limit: String,
    #[serde(default)]
    session_limit: String,
}

/// An own limit: empty is the application's; else a whole number from 1 to 1000.
fn limit(raw: &str, what: &str) -> Result<Option<u32>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<u32>()
        .ok()
        .filter(|limit| (1..=1000).contains(limit))
        .map(Some)
        .ok_or_else(|| {
            format!("The {what} limit must be a whole number from 1 to 1000, or empty for the application's.")
        })
}

async fn limits(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<LimitsForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let app = application(&state, &path.0).await?;
    let user = parse_user(&path.1)?;
    let parsed = limit(&form.device_limit, "device").and_then(|device_limit| {
        limit(&form.session_limit, "session").map(|session_limit| UserLimits {
            device_limit,
            session_limit,
        })
    });
    let limits = match parsed {
        Ok(limits) => limits,
        Err(message) => return refuse(&req, &state, &who, &app, user, message).await,
    };
    match state.user_admin.set_user_limits(app.id, user, limits).await {
        Ok(_) => Ok(flash::redirect_with(
            &user_location(&app, user),
            "Limits saved.",
        )),
        Err(error) => {
            let message = refusal(error)?;
            refuse(&req, &state, &who, &app, user, message).await
        }
    }
}

async fn ban(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let app = application(&state, &path.0).await?;
    let user = parse_user(&path.1)?;
    let back = user_location(&app, user);
    let reason = form.reason.trim();
    if reason.chars().count() > MAX_BAN_REASON_CHARS {
        let message = format!("The reason must be at most {MAX_BAN_REASON_CHARS} characters.");
        return refuse(&req, &state, &who, &app, user, message).await;
    }
    let details = found_user(&state, &app, user).await?;
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout =
            Layout::signed_in("Confirm", &who, &state, &req, Some(app.id.to_string())).await?;
        return confirm::ask(
            layout,
            &format!("Ban {}?", details.user.username),
            "Their sessions end and their sign-ins are refused; their addresses and devices are banned too. Lift the ban on the Bans screen to undo it.",
            &format!("{back}/ban"),
            &[("reason", reason)],
            "Ban",
            &back,
        );
    }
    let username = Username::parse(&details.user.username).map_err(|error| {
        ConsoleError::Unknown(anyhow::anyhow!("a stored username does not parse: {error}"))
    })?;
    let request = BanRequest {
        subject: BanSubject::User(username),
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
        expiry: BanExpiry::Never,
    };
    let stored = state
        .admin
        .create_ban(app.id, request, &who.changed_by(&state, &req))
        .await
        .map_err(|error| ConsoleError::Unknown(anyhow::Error::new(error)))?;
    let message = match stored {
        StoredBan::Created(_) => format!("{} is banned.", details.user.username),
        StoredBan::Existing(_) => format!(
            "{} was banned already; that ban is kept as it is.",
            details.user.username
        ),
    };
    Ok(flash::redirect_with(&back, &message))
}

async fn delete(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Delete)?;
    let app = application(&state, &path.0).await?;
    let user = parse_user(&path.1)?;
    let back = user_location(&app, user);
    let details = found_user(&state, &app, user).await?;
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout =
            Layout::signed_in("Confirm", &who, &state, &req, Some(app.id.to_string())).await?;
        return confirm::ask(
            layout,
            &format!("Delete {}?", details.user.username),
            "The user, their devices, sessions, ledger and variables are removed for good. Their licenses stay, used.",
            &format!("{back}/delete"),
            &[],
            "Delete",
            &back,
        );
    }
    state
        .users
        .delete_user(app.id, user, &who.changed_by(&state, &req))
        .await
        .map_err(ConsoleError::Unknown)?;
    Ok(flash::redirect_with(
        &format!("/console/apps/{}/users", app.id),
        &format!("{} was deleted.", details.user.username),
    ))
}

#[derive(serde::Deserialize)]
struct VariableForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    confirm: Option<String>,
}

async fn set_variable(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<VariableForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let app = application(&state, &path.0).await?;
    let user = parse_user(&path.1)?;
    let variable = match UserVariable::parse(form.name.trim(), &form.value) {
        Ok(variable) => variable,
        Err(error) => {
            let message = format!("The variable is not usable: {error}.");
            return refuse(&req, &state, &who, &app, user, message).await;
        }
    };
    let name = variable.name.clone();
    match state
        .user_admin
        .set_user_variable(&app, user, variable)
        .await
    {
        Ok(()) => Ok(flash::redirect_with(
            &user_location(&app, user),
            &format!("Variable {name} saved."),
        )),
        Err(error) => {
            let message = refusal(error)?;
            refuse(&req, &state, &who, &app, user, message).await
        }
    }
}

async fn delete_variable(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<VariableForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let app = application(&state, &path.0).await?;
    let user = parse_user(&path.1)?;
    let back = user_location(&app, user);
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout =
            Layout::signed_in("Confirm", &who, &state, &req, Some(app.id.to_string())).await?;
        return confirm::ask(
            layout,
            &format!("Delete the variable {}?", form.name),
            "Its value is removed for good.",
            &format!("{back}/variables/delete"),
            &[("name", form.name.as_str())],
            "Delete",
            &back,
        );
    }
    let deleted = match state
        .user_admin
        .delete_user_variable(app.id, user, &form.name)
        .await
    {
        Ok(deleted) => deleted,
        Err(error) => {
            let message = refusal(error)?;
            return refuse(&req, &state, &who, &app, user, message).await;
        }
    };
    let message = if deleted {
        format!("Variable {} deleted.", form.name)
    } else {
        format!("There was no variable {}.", form.name)
    };
    Ok(flash::redirect_with(&back, &message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_limit_is_the_applications() {
        assert_eq!(limit(" ", "device"), Ok(None));
        assert_eq!(limit("3", "device"), Ok(Some(3)));
        assert!(limit("0", "device").is_err());
        assert!(limit("x", "session").is_err());
    }
}
