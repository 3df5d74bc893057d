//! An application's overview: counts, and sign-ups and redemptions per day as an SVG chart
//! (with the same numbers in a table for screen readers and text browsers).

use crate::auth::SignedIn;
use crate::chart;
use crate::page::{ConsoleError, Layout, render};
use crate::state::ConsoleState;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::operator_account::ConsoleAction;
use domain::overview::Count;
use domain::values::ApplicationId;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps/{id}", web::get().to(overview));
}

/// A count as shown: "10000+" past the cap.
fn shown(count: Count) -> String {
    if count.capped {
        format!("{}+", count.value)
    } else {
        count.value.to_string()
    }
}

struct DayRow {
    day: String,
    sign_ups: String,
    redemptions: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    id: String,
    name: String,
    created: String,
    device_authentication: bool,
    /// The public half of the credentials: shipped in vendors' programs, not a secret.
    api_key: String,
    users: String,
    active_memberships: String,
    licenses_used: String,
    licenses_unused: String,
    bans: String,
    /// Drawn by [`chart::activity_svg`] from numbers only: safe to insert unescaped.
    chart: String,
    days: Vec<DayRow>,
}

/// The application named in the path, or a 404 page.
///
/// # Errors
/// [`ConsoleError::NotFound`] for a malformed or unknown id.
pub async fn application(
    state: &ConsoleState,
    raw_id: &str,
) -> Result<domain::application::Application, ConsoleError> {
    let id = uuid::Uuid::parse_str(raw_id).map_err(|_| ConsoleError::NotFound)?;
    state
        .operator
        .get_application(ApplicationId::from_uuid(id))
        .await
        .map_err(ConsoleError::Unknown)?
        .ok_or(ConsoleError::NotFound)
}

async fn overview(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(&state, &path).await?;
    let counts = state
        .overview
        .counts(app.id)
        .await
        .map_err(ConsoleError::Unknown)?;
    let activity = state
        .overview
        .daily_activity(app.id)
        .await
        .map_err(ConsoleError::Unknown)?;
    let id = app.id.to_string();
    let page = OverviewPage {
        layout: Layout::signed_in(app.name.as_str(), &who, &state, &req, Some(id.clone())).await?,
        id,
        name: app.name.as_str().to_owned(),
        created: app.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        device_authentication: app.device_authentication,
        api_key: app.api_key,
        users: shown(counts.users),
        active_memberships: shown(counts.active_memberships),
        licenses_used: shown(counts.licenses_used),
        licenses_unused: shown(counts.licenses_unused),
        bans: shown(counts.bans),
        chart: chart::activity_svg(&activity),
        days: activity
            .iter()
            .rev()
            .map(|day| DayRow {
                day: day.day.format("%Y-%m-%d").to_string(),
                sign_ups: shown(day.sign_ups),
                redemptions: shown(day.redemptions),
            })
            .collect(),
    };
    render(&page, &page.layout)
}
