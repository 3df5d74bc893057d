//! An application's users: search by name (the start of the canonical username; empty: the
//! newest users) and a bulk time adjustment of a selection with a reason. One user's page
//! and its actions are in [`super::user`].

use crate::auth::SignedIn;
use crate::flash;
use crate::page::{ConsoleError, Layout, render_status};
use crate::screens::overview::application;
use crate::state::ConsoleState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::application::Application;
use domain::duration::{TypedDuration, format_minutes};
use domain::operator_account::ConsoleAction;
use domain::page::{Cursor, PageRequest};
use domain::services::{MAX_SELECTED_USERS, adjustment_reason};
use domain::user::User;
use domain::values::UserId;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Before the user's routes: `/users/adjust` must not be read as a user id.
    cfg.route("/apps/{id}/users", web::get().to(list))
        .route("/apps/{id}/users/adjust", web::post().to(bulk_adjust));
    super::user::configure(cfg);
}

pub(super) fn shown_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The membership in words: `lifetime`, `active until …`, `expired …` or `none`.
pub(super) fn membership_text(user: &User, now: chrono::DateTime<chrono::Utc>) -> String {
    match (user.membership.is_lifetime, user.membership.active_until) {
        (true, _) => "lifetime".to_owned(),
        (false, Some(until)) if until > now => format!("active until {}", shown_time(until)),
        (false, Some(until)) => format!("expired {}", shown_time(until)),
        (false, None) => "none".to_owned(),
    }
}

pub(super) fn parse_user(raw: &str) -> Result<UserId, ConsoleError> {
    uuid::Uuid::parse_str(raw)
        .map(UserId::from_uuid)
        .map_err(|_| ConsoleError::NotFound)
}

struct UserRow {
    id: String,
    username: String,
    membership: String,
    created: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    app_id: String,
    app_name: String,
    query: String,
    rows: Vec<UserRow>,
    next: Option<String>,
    can_adjust: bool,
    error: Option<String>,
    duration: String,
    reason: String,
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    after: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn users_page(
    req: &HttpRequest,
    state: &ConsoleState,
    who: &SignedIn,
    app: &Application,
    query: &ListQuery,
    error: Option<String>,
    duration: String,
    reason: String,
) -> Result<UsersPage, ConsoleError> {
    let after = query
        .after
        .as_deref()
        .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
        .map(Cursor::after);
    let page = PageRequest::new(after, PageRequest::DEFAULT_LIMIT)
        .map_err(|error| ConsoleError::Unknown(error.into()))?;
    let found = state
        .users
        .search_users(app.id, &query.q, page)
        .await
        .map_err(ConsoleError::Unknown)?;
    let now = chrono::Utc::now();
    let app_id = app.id.to_string();
    Ok(UsersPage {
        layout: Layout::signed_in("Users", who, state, req, Some(app_id.clone())).await?,
        app_id,
        app_name: app.name.as_str().to_owned(),
        query: query.q.trim().to_owned(),
        rows: found
            .items
            .iter()
            .map(|user| UserRow {
                id: user.id.to_string(),
                username: user.username.clone(),
                membership: membership_text(user, now),
                created: shown_time(user.created_at),
            })
            .collect(),
        next: found.next.map(|cursor| cursor.id().to_string()),
        can_adjust: who.account.role.allows(ConsoleAction::AdjustMembership),
        error,
        duration,
        reason,
    })
}

async fn list(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(&state, &path).await?;
    let page = users_page(
        &req,
        &state,
        &who,
        &app,
        &query,
        None,
        String::new(),
        String::new(),
    )
    .await?;
    render_status(StatusCode::OK, &page, &page.layout)
}

/// Minutes to add (positive) or remove (negative) from a typed duration and a direction.
pub(super) fn signed_minutes(duration: &str, direction: &str) -> Result<i64, String> {
    let minutes = TypedDuration::parse_minutes(duration)
        .map_err(|error| format!("The duration is not usable: {error}."))?;
    match direction {
        "add" => Ok(i64::from(minutes)),
        "remove" => Ok(-i64::from(minutes)),
        _ => Err("Choose whether to add or remove the time.".to_owned()),
    }
}

/// Adjusts the time of the selected users (`id` repeated), with a reason kept in the ledger.
async fn bulk_adjust(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let mut csrf = String::new();
    let (mut duration, mut direction, mut reason, mut q) =
        (String::new(), String::new(), String::new(), String::new());
    let mut ids = Vec::new();
    for (name, value) in url::form_urlencoded::parse(&body) {
        match name.as_ref() {
            "csrf" => csrf = value.into_owned(),
            "duration" => duration = value.into_owned(),
            "direction" => direction = value.into_owned(),
            "reason" => reason = value.into_owned(),
            "q" => q = value.into_owned(),
            "id" => ids.push(value.into_owned()),
            _ => {}
        }
    }
    who.verify_csrf(&req, &csrf)?;
    who.require(ConsoleAction::AdjustMembership)?;
    let app = application(&state, &path).await?;
    let users: Vec<UserId> = ids
        .iter()
        .filter_map(|raw| uuid::Uuid::parse_str(raw).ok())
        .map(UserId::from_uuid)
        .collect();
    let checked = if users.is_empty() {
        Err("No user was selected: tick the boxes of the users first.".to_owned())
    } else if users.len() > MAX_SELECTED_USERS {
        Err(format!(
            "Select at most {MAX_SELECTED_USERS} users at a time."
        ))
    } else {
        signed_minutes(&duration, &direction).and_then(|minutes| {
            adjustment_reason(&reason)
                .map(|reason| (minutes, reason))
                .map_err(|error| format!("The reason is too long: {error}."))
        })
    };
    let (minutes, reason_kept) = match checked {
        Ok(checked) => checked,
        Err(message) => {
            let query = ListQuery { q, after: None };
            let page = users_page(
                &req,
                &state,
                &who,
                &app,
                &query,
                Some(message),
                duration,
                reason,
            )
            .await?;
            return render_status(StatusCode::BAD_REQUEST, &page, &page.layout);
        }
    };
    let outcome = state
        .users
        .adjust_many(
            app.id,
            &users,
            minutes,
            reason_kept,
            &who.changed_by(&state, &req),
        )
        .await
        .map_err(ConsoleError::Unknown)?;
    let verb = if minutes < 0 {
        "removed from"
    } else {
        "added to"
    };
    let message = format!(
        "{} {verb} {} user(s); {} lifetime membership(s) left as they are; {} not found.",
        format_minutes(minutes.abs()),
        outcome.adjusted,
        outcome.lifetime_skipped,
        outcome.unknown
    );
    let back = if q.trim().is_empty() {
        format!("/console/apps/{}/users", app.id)
    } else {
        format!(
            "/console/apps/{}/users?q={}",
            app.id,
            url::form_urlencoded::byte_serialize(q.trim().as_bytes()).collect::<String>()
        )
    };
    Ok(flash::redirect_with(&back, &message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direction_signs_the_typed_minutes() {
        assert_eq!(signed_minutes("3d 4h", "add"), Ok(3 * 1440 + 240));
        assert_eq!(signed_minutes("1h", "remove"), Ok(-60));
        assert!(signed_minutes("lifetime", "add").is_err());
        assert!(signed_minutes("1h", "sideways").is_err());
    }
}
