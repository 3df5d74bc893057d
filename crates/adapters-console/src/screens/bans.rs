//! An application's bans: the bans in force, filtered by type or value and paged by cursor;
//! adding one (type, value, reason, an optional duration); lifting one after a confirmation.
//! Everything goes through the admin API's service ([`domain::services::AdminApi`]), so a ban
//! made here bans the user's addresses and devices and records its events exactly like one
//! made through `/api/admin/bans`.

use crate::auth::SignedIn;
use crate::confirm;
use crate::flash;
use crate::page::{ConsoleError, Layout, render_status};
use crate::screens::overview::application;
use crate::state::ConsoleState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::ban::{Ban, BanKind, StoredBan};
use domain::duration::TypedDuration;
use domain::errors::CreateBanError;
use domain::operator_account::ConsoleAction;
use domain::page::{Cursor, PageRequest};
use domain::services::{BanExpiry, BanListQuery, BanRequest, BanSubject, MAX_BAN_REASON_CHARS};
use domain::values::{BanId, HardwareId, IpBanRange, LicenseCode, Username};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps/{id}/bans", web::get().to(list))
        .route("/apps/{id}/bans", web::post().to(create))
        .route("/apps/{id}/bans/{ban}/lift", web::post().to(lift));
}

struct BanRow {
    id: String,
    kind: &'static str,
    value: String,
    /// A user ban's value is the user's id: the user's page.
    is_user: bool,
    reason: String,
    created: String,
    expires: String,
}

/// A choice of the type select: its value, its label, and whether it is chosen.
struct KindOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// What the add form shows again after a refusal.
#[derive(Default)]
struct AddForm {
    kind: String,
    value: String,
    reason: String,
    ends_after: String,
}

#[derive(Template)]
#[template(path = "bans.html")]
struct BansPage {
    layout: Layout,
    app_id: String,
    app_name: String,
    bans: Vec<BanRow>,
    /// The filter's type options (with "any type" first).
    filter_kinds: Vec<KindOption>,
    filter_value: String,
    /// The add form's type options.
    add_kinds: Vec<KindOption>,
    add: AddForm,
    /// A refused addition's message, shown above the add form.
    error: Option<String>,
    /// The query string of the next page, filters included.
    next: Option<String>,
    filtered: bool,
    can_add: bool,
    can_lift: bool,
}

const fn kind_label(kind: BanKind) -> &'static str {
    match kind {
        BanKind::Ip => "IP address or range",
        BanKind::HardwareId => "Hardware id",
        BanKind::License => "License",
        BanKind::User => "User",
    }
}

fn kind_options(chosen: &str, any: bool) -> Vec<KindOption> {
    let mut options = Vec::new();
    if any {
        options.push(KindOption {
            value: "",
            label: "Any type",
            selected: chosen.is_empty(),
        });
    }
    options.extend(BanKind::ALL.into_iter().map(|kind| KindOption {
        value: kind.as_str(),
        label: kind_label(kind),
        selected: kind.as_str() == chosen,
    }));
    options
}

fn row(ban: Ban) -> BanRow {
    BanRow {
        id: ban.id.to_string(),
        kind: kind_label(ban.target.kind()),
        value: ban.target.value(),
        is_user: ban.target.kind() == BanKind::User,
        reason: ban.reason.unwrap_or_default(),
        created: ban.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        expires: ban.expires_at.map_or_else(
            || "never".to_owned(),
            |at| at.format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
    }
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    value: String,
    after: Option<String>,
}

fn encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// Renders the list for `query`, with the add form holding `add` and `error` above it.
async fn page(
    req: &HttpRequest,
    state: &ConsoleState,
    who: &SignedIn,
    raw_id: &str,
    query: &ListQuery,
    add: AddForm,
    error: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(state, raw_id).await?;
    let kind = if query.kind.is_empty() {
        None
    } else {
        Some(BanKind::parse(&query.kind).ok_or_else(|| {
            ConsoleError::BadRequest(
                "The type filter must be ip, hardware_id, license or user. Choose one from the list."
                    .to_owned(),
            )
        })?)
    };
    let value = query.value.trim();
    // A malformed cursor is the first page: it only comes from a hand-edited address.
    let after = query
        .after
        .as_deref()
        .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
        .map(Cursor::after);
    let request = PageRequest::new(after, PageRequest::DEFAULT_LIMIT)
        .map_err(|_| ConsoleError::BadRequest("The page size is out of range.".to_owned()))?;
    let listed = state
        .admin
        .list_bans(
            app.id,
            BanListQuery {
                kind,
                value: (!value.is_empty()).then(|| value.to_owned()),
            },
            request,
        )
        .await
        .map_err(ConsoleError::Unknown)?;
    let next = listed.next.map(|cursor| {
        format!(
            "type={}&value={}&after={}",
            encode(&query.kind),
            encode(value),
            cursor.id()
        )
    });
    let id = app.id.to_string();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let add_kinds = kind_options(if add.kind.is_empty() { "ip" } else { &add.kind }, false);
    let page = BansPage {
        layout: Layout::signed_in("Bans", who, state, req, Some(id.clone())).await?,
        app_id: id,
        app_name: app.name.as_str().to_owned(),
        bans: listed.items.into_iter().map(row).collect(),
        filter_kinds: kind_options(&query.kind, true),
        filter_value: value.to_owned(),
        add_kinds,
        add,
        error,
        next,
        filtered: kind.is_some() || !value.is_empty(),
        can_add: who.account.role.allows(ConsoleAction::Change),
        can_lift: who.account.role.allows(ConsoleAction::Delete),
    };
    render_status(status, &page, &page.layout)
}

async fn list(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    page(&req, &state, &who, &path, &query, AddForm::default(), None).await
}

#[derive(serde::Deserialize)]
struct AddBanForm {
    #[serde(default)]
    csrf: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ends_after: String,
}

/// The request the form describes, or what to correct.
fn ban_request(form: &AddBanForm) -> Result<BanRequest, String> {
    let value = form.value.trim();
    if value.is_empty() {
        return Err("Enter the value to ban: an address or range, a hardware id, a license code or a username.".to_owned());
    }
    let subject = match BanKind::parse(&form.kind) {
        Some(BanKind::Ip) => BanSubject::Ip(IpBanRange::parse(value).map_err(|error| {
            format!("The IP address or range is not usable: {error}. Enter an address such as 203.0.113.7 or a range such as 203.0.113.0/24.")
        })?),
        Some(BanKind::HardwareId) => {
            BanSubject::HardwareId(HardwareId::parse(value).map_err(|error| {
                format!("The hardware id is not usable: {error}.")
            })?)
        }
        Some(BanKind::License) => {
            BanSubject::License(LicenseCode::parse(value).map_err(|error| {
                format!("The license code is not usable: {error}. Enter the code as it was handed out.")
            })?)
        }
        Some(BanKind::User) => BanSubject::User(Username::parse(value).map_err(|error| {
            format!("The username is not usable: {error}.")
        })?),
        None => return Err("Choose what to ban: an IP address or range, a hardware id, a license or a user.".to_owned()),
    };
    let reason = form.reason.trim();
    if reason.chars().count() > MAX_BAN_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(format!(
            "The reason must be at most {MAX_BAN_REASON_CHARS} characters on one line. Shorten it."
        ));
    }
    let expiry = if form.ends_after.trim().is_empty() {
        BanExpiry::Never
    } else {
        match TypedDuration::parse(&form.ends_after) {
            Ok(TypedDuration::Minutes(minutes)) => {
                let seconds = i64::from(minutes) * 60;
                if seconds > BanExpiry::MAX_SECONDS {
                    return Err("A ban can last at most ten years (520w). Leave \"Ends after\" empty for a ban that never ends.".to_owned());
                }
                BanExpiry::After(chrono::Duration::seconds(seconds))
            }
            Ok(TypedDuration::Lifetime) => BanExpiry::Never,
            Err(error) => {
                return Err(format!(
                    "\"Ends after\" is not a duration: {error}; or leave it empty for a ban that never ends."
                ));
            }
        }
    };
    Ok(BanRequest {
        subject,
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
        expiry,
    })
}

async fn create(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<AddBanForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let app = application(&state, &path).await?;
    let refused = |message: String| {
        let add = AddForm {
            kind: form.kind.clone(),
            value: form.value.clone(),
            reason: form.reason.clone(),
            ends_after: form.ends_after.clone(),
        };
        (add, message)
    };
    let outcome = match ban_request(&form) {
        Ok(request) => state
            .admin
            .create_ban(app.id, request, &who.changed_by(&state, &req))
            .await
            .map_err(|error| match error {
                CreateBanError::UnknownLicense => Ok(
                    "No license of this application has that code. Check the code, or find it on the Licenses screen."
                        .to_owned(),
                ),
                CreateBanError::UnknownUser => Ok(
                    "No user of this application has that username. Check the spelling, or find the user on the Users screen."
                        .to_owned(),
                ),
                CreateBanError::ExpiryNotInFuture => Ok(
                    "The ban would end at once. Give a duration of at least one minute, or leave it empty."
                        .to_owned(),
                ),
                CreateBanError::Unknown(error) => Err(ConsoleError::Unknown(error)),
            }),
        Err(message) => Err(Ok(message)),
    };
    let location = format!("/console/apps/{}/bans", app.id);
    match outcome {
        Ok(StoredBan::Created(ban)) => Ok(flash::redirect_with(
            &location,
            &format!(
                "Banned {} {}.",
                ban.target.kind().as_str(),
                ban.target.value()
            ),
        )),
        Ok(StoredBan::Existing(ban)) => Ok(flash::redirect_with(
            &location,
            &format!(
                "{} {} was banned already; that ban is unchanged.",
                ban.target.kind().as_str(),
                ban.target.value()
            ),
        )),
        Err(Ok(message)) => {
            let (add, message) = refused(message);
            page(
                &req,
                &state,
                &who,
                &path,
                &ListQuery::default(),
                add,
                Some(message),
            )
            .await
        }
        Err(Err(error)) => Err(error),
    }
}

#[derive(serde::Deserialize)]
struct LiftForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
    #[serde(default)]
    shown: String,
}

async fn lift(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<LiftForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Delete)?;
    let (raw_app, raw_ban) = path.into_inner();
    let app = application(&state, &raw_app).await?;
    let ban = uuid::Uuid::parse_str(&raw_ban)
        .map(BanId::from_uuid)
        .map_err(|_| ConsoleError::NotFound)?;
    let list = format!("/console/apps/{}/bans", app.id);
    // `shown` is only the confirmation page's wording (what the list showed); the ban is
    // found by its id.
    let shown: String = form.shown.chars().take(200).collect();
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout =
            Layout::signed_in("Lift a ban", &who, &state, &req, Some(app.id.to_string())).await?;
        return confirm::ask(
            layout,
            "Lift this ban?",
            &format!(
                "{shown} will no longer be refused by this ban. Bans made with it (cross-bans) stay until lifted or expired."
            ),
            &format!("/console/apps/{}/bans/{ban}/lift", app.id),
            &[("shown", &shown)],
            "Lift the ban",
            &list,
        );
    }
    let lifted = state
        .admin
        .delete_ban(app.id, ban, &who.changed_by(&state, &req))
        .await
        .map_err(ConsoleError::Unknown)?;
    let message = if lifted {
        format!("Lifted the ban of {shown}.")
    } else {
        "That ban was lifted already, or it expired.".to_owned()
    };
    Ok(flash::redirect_with(&list, &message))
}
