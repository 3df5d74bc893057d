//! An application's audit log: its events, newest first, 50 a page by cursor, filtered by
//! action, actor, target and time (a GET form), through the admin API's `audit` service.
//! Each row shows the time, action, actor, target, the request's address and user agent,
//! and the redacted summary (events never hold a secret, code or password).

use crate::auth::SignedIn;
use crate::page::{ConsoleError, Layout, render};
use crate::screens::overview::application;
use crate::state::ConsoleState;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use domain::event::{ActorFilter, Detail, Event, EventFilter, EventType};
use domain::operator_account::ConsoleAction;
use domain::page::{Cursor, PageRequest};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps/{id}/audit", web::get().to(list));
}

struct EventRow {
    time: String,
    action: &'static str,
    actor: String,
    target_kind: String,
    target_id: String,
    ip: String,
    user_agent: String,
    summary: Vec<(String, String)>,
}

struct ActionOption {
    value: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    app_id: String,
    events: Vec<EventRow>,
    actions: Vec<ActionOption>,
    actor: String,
    target: String,
    since: String,
    until: String,
    filtered: bool,
    /// The query string of the next page, filters included.
    next: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    after: Option<String>,
}

/// A time as typed: what a `datetime-local` field sends (`2026-12-06T08:30`, read as UTC),
/// RFC 3339, or a date (its midnight, UTC).
fn time(label: &str, raw: &str) -> Result<Option<DateTime<Utc>>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(raw, format) {
            return Ok(Some(at.and_utc()));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        && let Some(at) = day.and_hms_opt(0, 0, 0)
    {
        return Ok(Some(at.and_utc()));
    }
    Err(format!(
        "\"{label}\" is not a time: use the picker, or type 2026-12-06T08:30 (UTC) or 2026-12-06."
    ))
}

/// The filter the form describes, or what to correct.
fn filter(query: &AuditQuery) -> Result<EventFilter, String> {
    let event_type = match query.action.trim() {
        "" => None,
        action => Some(
            EventType::parse(action)
                .ok_or("Choose the action from the list (or \"Any action\").")?,
        ),
    };
    let actor = match query.actor.trim() {
        "" => None,
        actor if actor.chars().count() <= 64 => Some(ActorFilter::parse(actor)),
        _ => {
            return Err("The actor is a kind (operator, admin_key, system, end_user) or an id of at most 64 characters.".to_owned());
        }
    };
    let target = match query.target.trim() {
        "" => None,
        target => Some(uuid::Uuid::parse_str(target).map_err(|_| {
            "The target is an id such as 0192f0c4-7a53-7f1e-9a2b-3c4d5e6f7a8b: copy it from a row or another screen.".to_owned()
        })?),
    };
    let since = time("Since", &query.since)?;
    let until = time("Until", &query.until)?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err("\"Since\" must be before \"Until\".".to_owned());
    }
    Ok(EventFilter {
        event_type,
        actor,
        target,
        since,
        until,
    })
}

fn detail(detail: Detail) -> String {
    match detail {
        Detail::Text(text) => text,
        Detail::Number(number) => number.to_string(),
        Detail::Flag(flag) => flag.to_string(),
    }
}

fn row(event: Event) -> EventRow {
    let actor = match event.actor.id() {
        Some(id) => format!("{} {id}", event.actor.kind()),
        None => event.actor.kind().to_owned(),
    };
    EventRow {
        time: event
            .occurred_at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        action: event.event_type.as_str(),
        actor,
        target_kind: event.target.kind,
        target_id: event.target.id.to_string(),
        ip: event
            .context
            .as_ref()
            .map(|context| context.client_ip.to_string())
            .unwrap_or_default(),
        user_agent: event
            .context
            .and_then(|context| context.user_agent)
            .unwrap_or_default(),
        summary: event
            .summary
            .into_iter()
            .map(|(name, value)| (name, detail(value)))
            .collect(),
    }
}

fn encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.trim().as_bytes()).collect()
}

async fn list(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(&state, &path).await?;
    let (events, next, error) = match filter(&query) {
        Ok(filter) => {
            // A malformed cursor is the first page: it only comes from a hand-edited address.
            let after = query
                .after
                .as_deref()
                .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
                .map(Cursor::after);
            let request = PageRequest::new(after, PageRequest::DEFAULT_LIMIT).map_err(|_| {
                ConsoleError::BadRequest("The page size is out of range.".to_owned())
            })?;
            let listed = state
                .admin
                .audit(app.id, filter, request)
                .await
                .map_err(ConsoleError::Unknown)?;
            let next = listed.next.map(|cursor| {
                format!(
                    "action={}&actor={}&target={}&since={}&until={}&after={}",
                    encode(&query.action),
                    encode(&query.actor),
                    encode(&query.target),
                    encode(&query.since),
                    encode(&query.until),
                    cursor.id()
                )
            });
            (listed.items.into_iter().map(row).collect(), next, None)
        }
        Err(message) => (Vec::new(), None, Some(message)),
    };
    let id = app.id.to_string();
    let chosen = query.action.trim();
    let page = AuditPage {
        layout: Layout::signed_in("Audit log", &who, &state, &req, Some(id.clone())).await?,
        app_id: id,
        events,
        actions: EventType::ALL
            .into_iter()
            .map(|kind| ActionOption {
                value: kind.as_str(),
                selected: kind.as_str() == chosen,
            })
            .collect(),
        actor: query.actor.trim().to_owned(),
        target: query.target.trim().to_owned(),
        since: query.since.trim().to_owned(),
        until: query.until.trim().to_owned(),
        filtered: [
            &query.action,
            &query.actor,
            &query.target,
            &query.since,
            &query.until,
        ]
        .iter()
        .any(|value| !value.trim().is_empty()),
        next,
        error,
    };
    if page.error.is_some() {
        return crate::page::render_status(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &page,
            &page.layout,
        );
    }
    render(&page, &page.layout)
}
