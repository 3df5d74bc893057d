//! An application's licenses: mint a batch (the codes are shown once, with a CSV download
//! carried in the link itself, so nothing is kept on the server), the list (newest first,
//! by cursor; used / unused / banned; find one by its code), and revoke or delete a
//! selection after a confirmation.
//!
//! Revoke = ban the license (type `license`, through the admin API's bans service): it can
//! no longer be redeemed or activated, a user who signed up with it can no longer sign in,
//! and its row stays. Delete = remove an unused license's row (`license.deleted`); used ones
//! are kept. See docs/console.md.

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
use domain::duration::TypedDuration;
use domain::license::LicenseDetails;
use domain::operator_account::ConsoleAction;
use domain::page::{Cursor, PageRequest};
use domain::services::{LicenseBatch, LicenseListQuery, MAX_BAN_REASON_CHARS, MAX_SELECTED};
use domain::values::{LicenseCode, LicenseId};
use std::collections::HashMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps/{id}/licenses", web::get().to(list))
        .route("/apps/{id}/licenses/mint", web::post().to(mint))
        .route("/apps/{id}/licenses/selection", web::post().to(selection));
}

struct LicenseRow {
    id: String,
    duration: String,
    /// The user's id and name; `None` for an unused license, or one whose user was deleted.
    used_by: Option<(String, String)>,
    used: bool,
    activated: String,
    banned: bool,
    created: String,
}

struct StatusOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "licenses.html")]
struct LicensesPage {
    layout: Layout,
    app_id: String,
    app_name: String,
    statuses: Vec<StatusOption>,
    status: String,
    code: String,
    /// The mint form's error, and the values to show again.
    mint_error: Option<String>,
    mint_count: String,
    mint_duration: String,
    /// The filter's error (a malformed code), or "no license with this code".
    find_message: Option<String>,
    rows: Vec<LicenseRow>,
    next: Option<String>,
    can_mint: bool,
    can_revoke: bool,
    can_delete: bool,
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    code: String,
    after: Option<String>,
}

const STATUSES: [(&str, &str); 4] = [
    ("all", "All"),
    ("unused", "Unused"),
    ("used", "Used"),
    ("banned", "Banned"),
];

fn shown_time(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(String::new, |at| {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    })
}

fn shown_duration(minutes: Option<u32>) -> String {
    minutes.map_or_else(
        || "lifetime".to_owned(),
        |minutes| domain::duration::format_minutes(i64::from(minutes)),
    )
}

/// What the mint form holds when the page is drawn again.
struct MintAgain {
    error: Option<String>,
    count: String,
    duration: String,
}

async fn page(
    req: &HttpRequest,
    state: &ConsoleState,
    who: &SignedIn,
    app: &Application,
    query: &ListQuery,
    mint: MintAgain,
) -> Result<LicensesPage, ConsoleError> {
    let status = if STATUSES.iter().any(|(value, _)| *value == query.status) {
        query.status.clone()
    } else {
        "all".to_owned()
    };
    let mut list_query = LicenseListQuery {
        used: match status.as_str() {
            "used" => Some(true),
            "unused" => Some(false),
            _ => None,
        },
        banned: (status == "banned").then_some(true),
        ..LicenseListQuery::default()
    };
    let mut find_message = None;
    let code = query.code.trim().to_owned();
    let mut listed = None;
    if !code.is_empty() {
        match LicenseCode::parse(&code) {
            Ok(parsed) => list_query.code = Some(parsed),
            Err(error) => {
                find_message = Some(format!(
                    "That is not a license code ({error}). Check it and search again."
                ));
                listed = Some(domain::page::Page {
                    items: Vec::new(),
                    next: None,
                });
            }
        }
    }
    // A malformed cursor is the first page: it only comes from a hand-edited URL.
    let after = query
        .after
        .as_deref()
        .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
        .map(Cursor::after);
    let listed = match listed {
        Some(empty) => empty,
        None => state
            .admin
            .list_licenses(
                app.id,
                list_query,
                PageRequest::new(after, PageRequest::DEFAULT_LIMIT)
                    .map_err(|error| ConsoleError::Unknown(error.into()))?,
            )
            .await
            .map_err(ConsoleError::Unknown)?,
    };
    if !code.is_empty() && find_message.is_none() && listed.items.is_empty() {
        find_message =
            Some("No license with this code (in this application, with this filter).".to_owned());
    }
    let users: Vec<_> = listed
        .items
        .iter()
        .filter_map(|details| details.license.activated_by)
        .collect();
    let names: HashMap<_, _> = state
        .users
        .usernames(app.id, &users)
        .await
        .map_err(ConsoleError::Unknown)?
        .into_iter()
        .collect();
    let app_id = app.id.to_string();
    let rows = listed
        .items
        .iter()
        .map(|LicenseDetails { license, is_banned }| LicenseRow {
            id: license.id.to_string(),
            duration: shown_duration(license.duration.minutes()),
            used_by: license.activated_by.map(|user| {
                (
                    user.to_string(),
                    names
                        .get(&user)
                        .cloned()
                        .unwrap_or_else(|| "(deleted user)".to_owned()),
                )
            }),
            used: license.is_used(),
            activated: shown_time(license.activated_at),
            banned: *is_banned,
            created: shown_time(Some(license.created_at)),
        })
        .collect();
    Ok(LicensesPage {
        layout: Layout::signed_in("Licenses", who, state, req, Some(app_id.clone())).await?,
        app_id,
        app_name: app.name.as_str().to_owned(),
        statuses: STATUSES
            .iter()
            .map(|(value, label)| StatusOption {
                value,
                label,
                selected: *value == status,
            })
            .collect(),
        status,
        code,
        mint_error: mint.error,
        mint_count: mint.count,
        mint_duration: mint.duration,
        find_message,
        rows,
        next: listed.next.map(|cursor| cursor.id().to_string()),
        can_mint: who.account.role.allows(ConsoleAction::ManageKeys),
        can_revoke: who.account.role.allows(ConsoleAction::Change),
        can_delete: who.account.role.allows(ConsoleAction::Delete),
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
    let mint = MintAgain {
        error: None,
        count: "10".to_owned(),
        duration: "30d".to_owned(),
    };
    let page = page(&req, &state, &who, &app, &query, mint).await?;
    render_status(StatusCode::OK, &page, &page.layout)
}

#[derive(serde::Deserialize)]
struct MintForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    duration: String,
}

struct MintedCode {
    id: String,
    code: String,
}

#[derive(Template)]
#[template(path = "licenses_minted.html")]
struct MintedPage {
    layout: Layout,
    app_id: String,
    duration: String,
    codes: Vec<MintedCode>,
    csv_name: String,
    /// `data:text/csv;charset=utf-8,` and the percent-encoded CSV: safe in an attribute.
    csv_href: String,
}

/// Everything but RFC 3986's unreserved characters, percent-encoded: a `data:` URL's body.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Mints a batch and shows the codes once (rendered, never redirected: only their digests
/// are stored, so no later page can show them).
async fn mint(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<MintForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::ManageKeys)?;
    let app = application(&state, &path).await?;
    let refuse = async |message: String| -> Result<HttpResponse, ConsoleError> {
        let again = MintAgain {
            error: Some(message),
            count: form.count.clone(),
            duration: form.duration.clone(),
        };
        let page = page(&req, &state, &who, &app, &ListQuery::default(), again).await?;
        render_status(StatusCode::BAD_REQUEST, &page, &page.layout)
    };
    let Some(count) = form
        .count
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|count| (1..=1000).contains(count))
    else {
        return refuse("The count must be a whole number from 1 to 1000.".to_owned()).await;
    };
    let duration = match TypedDuration::parse(&form.duration) {
        Ok(duration) => duration,
        Err(error) => return refuse(format!("The duration is not usable: {error}.")).await,
    };
    let minutes = duration.license_duration().minutes().map(i64::from);
    let batch = LicenseBatch::generate(count, minutes)
        .map_err(|error| ConsoleError::BadRequest(format!("{error}. Go back and change it.")))?;
    let created = state
        .admin
        .create_licenses(app.id, batch, &who.changed_by(&state, &req))
        .await
        .map_err(|error| ConsoleError::Unknown(anyhow::Error::new(error)))?;
    let mut csv = String::from("id,code,minutes,created_at\r\n");
    for license in &created {
        csv.push_str(&format!(
            "{},{},{},{}\r\n",
            license.license.id,
            license.code.formatted(),
            license
                .license
                .duration
                .minutes()
                .map_or_else(|| "lifetime".to_owned(), |minutes| minutes.to_string()),
            license.license.created_at.to_rfc3339(),
        ));
    }
    let app_id = app.id.to_string();
    let page = MintedPage {
        layout: Layout::signed_in("Licenses minted", &who, &state, &req, Some(app_id.clone()))
            .await?,
        csv_name: format!(
            "licenses-{}-{}.csv",
            app.name
                .as_str()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>(),
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ),
        csv_href: format!("data:text/csv;charset=utf-8,{}", percent_encode(&csv)),
        app_id,
        duration: shown_duration(duration.license_duration().minutes()),
        codes: created
            .iter()
            .map(|license| MintedCode {
                id: license.license.id.to_string(),
                code: license.code.formatted().to_owned(),
            })
            .collect(),
    };
    render_status(StatusCode::OK, &page, &page.layout)
}

/// The selection form: `id` repeated (checkboxes), `action`, `reason`, `csrf`, `confirm`.
struct Selection {
    csrf: String,
    action: String,
    reason: String,
    confirm: Option<String>,
    ids: Vec<String>,
}

impl Selection {
    fn parse(body: &[u8]) -> Self {
        let mut selection = Self {
            csrf: String::new(),
            action: String::new(),
            reason: String::new(),
            confirm: None,
            ids: Vec::new(),
        };
        for (name, value) in url::form_urlencoded::parse(body) {
            match name.as_ref() {
                "csrf" => selection.csrf = value.into_owned(),
                "action" => selection.action = value.into_owned(),
                "reason" => selection.reason = value.into_owned(),
                "confirm" => selection.confirm = Some(value.into_owned()),
                "id" => selection.ids.push(value.into_owned()),
                _ => {}
            }
        }
        selection
    }
}

/// Revokes or deletes the selected licenses, after a confirmation page saying how many.
async fn selection(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = Selection::parse(&body);
    who.verify_csrf(&req, &form.csrf)?;
    let app = application(&state, &path).await?;
    let back = format!("/console/apps/{}/licenses", app.id);
    let revoke = match form.action.as_str() {
        "revoke" => {
            who.require(ConsoleAction::Change)?;
            true
        }
        "delete" => {
            who.require(ConsoleAction::Delete)?;
            false
        }
        _ => {
            return Err(ConsoleError::BadRequest(
                "Choose Revoke or Delete. Go back and press one of the buttons.".to_owned(),
            ));
        }
    };
    let ids: Vec<LicenseId> = form
        .ids
        .iter()
        .filter_map(|raw| uuid::Uuid::parse_str(raw).ok())
        .map(LicenseId::from_uuid)
        .collect();
    if ids.is_empty() {
        return Ok(flash::redirect_with(
            &back,
            "No license was selected: tick the boxes of the licenses first.",
        ));
    }
    if ids.len() > MAX_SELECTED {
        return Err(ConsoleError::BadRequest(format!(
            "Select at most {MAX_SELECTED} licenses at a time."
        )));
    }
    let reason = form.reason.trim();
    if reason.chars().count() > MAX_BAN_REASON_CHARS {
        return Err(ConsoleError::BadRequest(format!(
            "The reason must be at most {MAX_BAN_REASON_CHARS} characters. Go back and shorten it."
        )));
    }
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout =
            Layout::signed_in("Confirm", &who, &state, &req, Some(app.id.to_string())).await?;
        let count = ids.len();
        let (question, consequence, button) = if revoke {
            (
                format!("Revoke {count} license(s)?"),
                "Each is banned: it can no longer be redeemed, and a user who signed up with it can no longer sign in. Lifting the ban on the Bans screen undoes this.",
                "Revoke",
            )
        } else {
            (
                format!("Delete {count} license(s)?"),
                "Unused licenses are removed for good; used ones are kept (a membership names them): revoke those instead.",
                "Delete",
            )
        };
        let mut fields: Vec<(&str, &str)> =
            vec![("action", form.action.as_str()), ("reason", reason)];
        fields.extend(form.ids.iter().map(|id| ("id", id.as_str())));
        return confirm::ask(
            layout,
            &question,
            consequence,
            &format!("{back}/selection"),
            &fields,
            button,
            &back,
        );
    }
    let by = who.changed_by(&state, &req);
    let message = if revoke {
        let reason = if reason.is_empty() {
            "revoked in the console".to_owned()
        } else {
            reason.to_owned()
        };
        let outcome = state
            .license_admin
            .revoke_licenses(app.id, &ids, Some(reason), &by)
            .await
            .map_err(ConsoleError::Unknown)?;
        format!(
            "{} license(s) revoked; {} already banned; {} not found.",
            outcome.revoked, outcome.already_banned, outcome.unknown
        )
    } else {
        let outcome = state
            .license_admin
            .delete_licenses(app.id, &ids, &by)
            .await
            .map_err(ConsoleError::Unknown)?;
        format!(
            "{} license(s) deleted; {} used, kept (revoke them instead); {} not found.",
            outcome.deleted, outcome.used_kept, outcome.unknown
        )
    };
    Ok(flash::redirect_with(&back, &message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_url_body_keeps_only_unreserved_characters() {
        assert_eq!(
            percent_encode("id,code\r\nAB-CD é"),
            "id%2Ccode%0D%0AAB-CD%20%C3%A9"
        );
    }

    #[test]
    fn a_selection_reads_every_ticked_box() {
        let form = Selection::parse(b"csrf=t&id=a&id=b&action=delete&confirm=yes&reason=x+y");
        assert_eq!(form.ids, ["a", "b"]);
        assert_eq!(form.action, "delete");
        assert_eq!(form.reason, "x y");
        assert_eq!(form.confirm.as_deref(), Some("yes"));
    }
}
