//! An application's settings: name, device authentication, limits, session lifetime,
//! cross-banning, signing, legacy and anonymous access (owners change them; `support` sees
//! them read-only), and key rotation, whose new secret is shown once on the answer, with copy
//! buttons (`static/copy.js`, progressive enhancement: without JavaScript the value is in a
//! read-only, selectable field). Changes go through the operator service, as
//! `PATCH /api/operator/applications/{id}` and `POST …/rotate` do, and record their events.

use crate::auth::SignedIn;
use crate::confirm;
use crate::flash;
use crate::page::{ConsoleError, Layout, render, render_status};
use crate::screens::overview::application;
use crate::state::ConsoleState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::application::{
    Application, ApplicationName, ApplicationSettings, ApplicationUpdate, RotatedValue,
    SecretToRotate,
};
use domain::operator_account::ConsoleAction;

/// The copy buttons' script: vendored, tiny, served by the console so the CSP stays `'self'`.
const COPY_SCRIPT: &str = include_str!("../../static/copy.js");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/copy.js", web::get().to(copy_script))
        .route("/apps/{id}/settings", web::get().to(show))
        .route("/apps/{id}/settings", web::post().to(update))
        .route("/apps/{id}/settings/rotate", web::post().to(rotate));
}

async fn copy_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(COPY_SCRIPT)
}

/// What the form shows: the stored settings, or what was typed when it was refused.
struct Fields {
    name: String,
    device_authentication: bool,
    device_limit: String,
    session_limit: String,
    session_lifetime_seconds: String,
    max_user_variables: String,
    cross_banning: bool,
    response_signing: bool,
    request_signing: bool,
    anonymous_access: bool,
    legacy_auth: bool,
}

impl From<&Application> for Fields {
    fn from(app: &Application) -> Self {
        let settings = &app.settings;
        Self {
            name: app.name.as_str().to_owned(),
            device_authentication: app.device_authentication,
            device_limit: settings.device_limit.to_string(),
            session_limit: settings.session_limit.to_string(),
            session_lifetime_seconds: settings.session_lifetime_seconds.to_string(),
            max_user_variables: settings.max_user_variables.to_string(),
            cross_banning: settings.cross_banning,
            response_signing: settings.response_signing,
            request_signing: settings.request_signing,
            anonymous_access: settings.anonymous_access,
            legacy_auth: settings.legacy_auth,
        }
    }
}

/// One rotatable secret: the form's value, its name, and what rotating it does.
struct Rotatable {
    value: &'static str,
    label: &'static str,
}

const ROTATABLE: [(SecretToRotate, &str, &str); 5] = [
    (SecretToRotate::ApiSecret, "api_secret", "API secret"),
    (
        SecretToRotate::AdminApiKey,
        "admin_api_key",
        "Admin API key",
    ),
    (
        SecretToRotate::ResponseSigningKey,
        "response_signing_key",
        "Response signing key",
    ),
    (
        SecretToRotate::RequestSigningKey,
        "request_signing_key",
        "Request signing key",
    ),
    (SecretToRotate::FilesKey, "files_key", "Files key"),
];

/// How long the old secret keeps working: the choices offered, in seconds.
const GRACE_CHOICES: [(i64, &str); 5] = [
    (0, "Stop it at once"),
    (3600, "1 hour"),
    (86_400, "1 day"),
    (604_800, "7 days"),
    (2_592_000, "30 days"),
];

struct Grace {
    seconds: i64,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    app_id: String,
    api_key: String,
    response_key_id: Option<String>,
    response_public_key: Option<String>,
    request_key_id: Option<String>,
    fields: Fields,
    error: Option<String>,
    can_change: bool,
    can_rotate: bool,
    rotatable: Vec<Rotatable>,
    graces: Vec<Grace>,
}

async fn page(
    req: &HttpRequest,
    state: &ConsoleState,
    who: &SignedIn,
    app: &Application,
    fields: Fields,
    error: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = app.id.to_string();
    let response_key = app
        .response_signing_keys
        .as_ref()
        .map(|keys| keys.current.public_key);
    let page = SettingsPage {
        layout: Layout::signed_in("Settings", who, state, req, Some(id.clone())).await?,
        app_id: id,
        api_key: app.api_key.clone(),
        response_key_id: response_key.map(|key| key.key_id()),
        response_public_key: response_key.map(|key| key.to_base64()),
        request_key_id: app.request_signing_keys.map(|keys| keys.current.key_id()),
        fields,
        error: error.clone(),
        can_change: who.account.role.allows(ConsoleAction::Change),
        can_rotate: who.account.role.allows(ConsoleAction::ManageKeys),
        rotatable: ROTATABLE
            .iter()
            .map(|(_, value, label)| Rotatable { value, label })
            .collect(),
        graces: GRACE_CHOICES
            .iter()
            .map(|(seconds, label)| Grace {
                seconds: *seconds,
                label,
            })
            .collect(),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(status, &page, &page.layout)
}

async fn show(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(&state, &path).await?;
    page(&req, &state, &who, &app, Fields::from(&app), None).await
}

#[derive(serde::Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    device_authentication: Option<String>,
    #[serde(default)]
    device_limit: String,
    #[serde(default)]
    session_limit: String,
    #[serde(default)]
    session_lifetime_seconds: String,
    #[serde(default)]
    max_user_variables: String,
    cross_banning: Option<String>,
    response_signing: Option<String>,
    request_signing: Option<String>,
    anonymous_access: Option<String>,
    legacy_auth: Option<String>,
}

impl SettingsForm {
    /// What the form showed, to show it again with a message.
    fn fields(&self) -> Fields {
        Fields {
            name: self.name.clone(),
            device_authentication: self.device_authentication.is_some(),
            device_limit: self.device_limit.clone(),
            session_limit: self.session_limit.clone(),
            session_lifetime_seconds: self.session_lifetime_seconds.clone(),
            max_user_variables: self.max_user_variables.clone(),
            cross_banning: self.cross_banning.is_some(),
            response_signing: self.response_signing.is_some(),
            request_signing: self.request_signing.is_some(),
            anonymous_access: self.anonymous_access.is_some(),
            legacy_auth: self.legacy_auth.is_some(),
        }
    }

    /// The change from `app`'s settings to the form's: only what differs is named, so the
    /// event lists what changed, and an unchanged form changes nothing.
    fn update(&self, app: &Application) -> Result<ApplicationUpdate, String> {
        let number = |raw: &str, label: &str, range: std::ops::RangeInclusive<u32>| {
            raw.trim()
                .parse::<u32>()
                .ok()
                .filter(|value| range.contains(value))
                .ok_or_else(|| {
                    format!(
                        "{label} must be a whole number from {} to {}.",
                        range.start(),
                        range.end()
                    )
                })
        };
        let name = ApplicationName::parse(&self.name).map_err(|_| {
            "The name must be 1 to 100 characters without control characters.".to_owned()
        })?;
        let device_limit = number(
            &self.device_limit,
            "Devices per user",
            ApplicationSettings::DEVICE_LIMITS,
        )?;
        let session_limit = number(
            &self.session_limit,
            "Sessions per user",
            ApplicationSettings::SESSION_LIMITS,
        )?;
        let session_lifetime_seconds = number(
            &self.session_lifetime_seconds,
            "Session lifetime (seconds)",
            ApplicationSettings::SESSION_LIFETIME_SECONDS,
        )?;
        let max_user_variables = number(
            &self.max_user_variables,
            "Variables per user",
            ApplicationSettings::MAX_USER_VARIABLES,
        )?;
        let current = &app.settings;
        fn changed<T: PartialEq>(new: T, old: T) -> Option<T> {
            (new != old).then_some(new)
        }
        Ok(ApplicationUpdate {
            name: (name.as_str() != app.name.as_str()).then_some(name),
            device_authentication: changed(
                self.device_authentication.is_some(),
                app.device_authentication,
            ),
            device_limit: changed(device_limit, current.device_limit),
            session_limit: changed(session_limit, current.session_limit),
            session_lifetime_seconds: changed(
                session_lifetime_seconds,
                current.session_lifetime_seconds,
            ),
            cross_banning: changed(self.cross_banning.is_some(), current.cross_banning),
            response_signing: changed(self.response_signing.is_some(), current.response_signing),
            request_signing: changed(self.request_signing.is_some(), current.request_signing),
            anonymous_access: changed(self.anonymous_access.is_some(), current.anonymous_access),
            max_user_variables: changed(max_user_variables, current.max_user_variables),
            legacy_auth: changed(self.legacy_auth.is_some(), current.legacy_auth),
        })
    }
}

/// A new secret, shown once (also the webhooks screen's).
#[derive(Template)]
#[template(path = "secret_once.html")]
pub struct SecretOncePage {
    pub layout: Layout,
    /// Where the page's only link leads, and its text.
    pub back_href: String,
    pub back_label: String,
    pub heading: String,
    /// What the value is, and what to do with it.
    pub explanation: String,
    pub label: String,
    pub value: String,
    /// The value is a public key: no warning that it is shown once.
    pub public: bool,
    pub old_valid_until: Option<String>,
}

async fn update(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let app = application(&state, &path).await?;
    let update = match form.update(&app) {
        Ok(update) => update,
        Err(message) => return page(&req, &state, &who, &app, form.fields(), Some(message)).await,
    };
    let location = format!("/console/apps/{}/settings", app.id);
    if update == ApplicationUpdate::default() {
        return Ok(flash::redirect_with(
            &location,
            "Nothing changed: the settings were already these.",
        ));
    }
    let change = state
        .operator
        .update_application(app.id, update, &who.changed_by(&state, &req))
        .await
        .map_err(ConsoleError::Unknown)?
        .ok_or(ConsoleError::NotFound)?;
    let Some(private_key) = change.request_signing_private_key else {
        return Ok(flash::redirect_with(&location, "Settings saved."));
    };
    // Request signing was turned on for the first time: its private key exists only here.
    let id = app.id.to_string();
    let page = SecretOncePage {
        layout: Layout::signed_in("Settings saved", &who, &state, &req, Some(id.clone())).await?,
        back_href: format!("/console/apps/{id}/settings"),
        back_label: "Back to the settings".to_owned(),
        heading: "Settings saved: request signing is on".to_owned(),
        explanation: "Request signing needs a key pair; this is its private key, for your program to sign its requests with (docs/signing.md). Latchkey keeps only the public half.".to_owned(),
        label: "Request signing private key".to_owned(),
        value: private_key.as_str().to_owned(),
        public: false,
        old_valid_until: None,
    };
    render(&page, &page.layout)
}

#[derive(serde::Deserialize)]
struct RotateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    which: String,
    #[serde(default)]
    old_valid_for: String,
    confirm: Option<String>,
}

async fn rotate(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<RotateForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::ManageKeys)?;
    let app = application(&state, &path).await?;
    let Some((which, _, label)) = ROTATABLE.iter().find(|(_, value, _)| *value == form.which)
    else {
        return page(
            &req,
            &state,
            &who,
            &app,
            Fields::from(&app),
            Some("Choose which key to rotate from the list.".to_owned()),
        )
        .await;
    };
    let Some((seconds, grace)) = GRACE_CHOICES
        .iter()
        .find(|(seconds, _)| seconds.to_string() == form.old_valid_for)
    else {
        return page(
            &req,
            &state,
            &who,
            &app,
            Fields::from(&app),
            Some("Choose how long the old key keeps working from the list.".to_owned()),
        )
        .await;
    };
    let id = app.id.to_string();
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout =
            Layout::signed_in("Rotate a key", &who, &state, &req, Some(id.clone())).await?;
        let consequence = if *seconds == 0 {
            format!(
                "The current {label} stops working at once: every program or back office using it fails until it has the new one."
            )
        } else {
            format!(
                "The current {label} keeps working for {grace}; move your programs to the new one before then."
            )
        };
        return confirm::ask(
            layout,
            &format!("Rotate the {label}?"),
            &consequence,
            &format!("/console/apps/{id}/settings/rotate"),
            &[
                ("which", &form.which),
                ("old_valid_for", &form.old_valid_for),
            ],
            &format!("Rotate the {label}"),
            &format!("/console/apps/{id}/settings"),
        );
    }
    let rotated = state
        .operator
        .rotate_secret(
            app.id,
            *which,
            chrono::Duration::seconds(*seconds),
            &who.changed_by(&state, &req),
        )
        .await
        .map_err(ConsoleError::Unknown)?
        .ok_or(ConsoleError::NotFound)?;
    let (value, public, explanation) = match rotated.value {
        RotatedValue::Secret(secret) => (
            secret.expose().to_owned(),
            false,
            "Copy it now: it is shown only this once. Latchkey keeps only its digest.",
        ),
        RotatedValue::PublicKey(key) => (
            key.to_base64(),
            true,
            "The new public key that signs integration answers: give it to programs that check the signatures. It is not a secret.",
        ),
        RotatedValue::PrivateKey(key) => (
            key.as_str().to_owned(),
            false,
            "The new private key your program signs its requests with. Copy it now: it is shown only this once; Latchkey keeps only the public half.",
        ),
        RotatedValue::FilesKey(key) => (
            key.as_str().to_owned(),
            false,
            "The new key encrypted files are stored under (64 hex digits); files stored before stay under the old key. Copy it now.",
        ),
    };
    let page = SecretOncePage {
        layout: Layout::signed_in("Key rotated", &who, &state, &req, Some(id.clone())).await?,
        back_href: format!("/console/apps/{id}/settings"),
        back_label: "Back to the settings".to_owned(),
        heading: format!("The {label} is rotated"),
        explanation: explanation.to_owned(),
        label: format!("New {label}"),
        value,
        public,
        old_valid_until: rotated
            .old_valid_until
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
    };
    render(&page, &page.layout)
}
