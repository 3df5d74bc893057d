//! The operator's own account: TOTP set-up (secret shown once, confirmed with a code, then
//! ten backup codes shown once) and, for owners, inviting operators.

use crate::auth::SignedIn;
use crate::page::{ConsoleError, Layout, render, render_status};
use crate::screens::CsrfOnly;
use crate::state::ConsoleState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::operator_account::{ConsoleAction, OperatorEmail, OperatorRole};
use domain::services::{CreateAccountError, TotpSetupError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(account))
        .route("/account/totp/start", web::post().to(totp_start))
        .route("/account/totp/confirm", web::post().to(totp_confirm))
        .route("/account/invite", web::post().to(invite));
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    email: String,
    role: &'static str,
    has_totp: bool,
    backup_codes_left: u64,
    is_owner: bool,
}

async fn account(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
) -> Result<HttpResponse, ConsoleError> {
    let backup_codes_left = state
        .accounts
        .backup_codes_left(who.account.id)
        .await
        .map_err(ConsoleError::Unknown)?;
    let page = AccountPage {
        layout: Layout::signed_in("Account", &who, &state, &req, None).await?,
        email: who.account.email.as_str().to_owned(),
        role: who.account.role.as_str(),
        has_totp: who.account.has_totp(),
        backup_codes_left,
        is_owner: who.account.role.allows(ConsoleAction::ManageOperators),
    };
    render(&page, &page.layout)
}

#[derive(Template)]
#[template(path = "totp_setup.html")]
struct TotpSetupPage {
    layout: Layout,
    secret: String,
    uri: String,
    /// The secret sealed under the master key for this account's set-up: opaque here.
    sealed: String,
    error: Option<&'static str>,
}

fn already_enabled() -> ConsoleError {
    ConsoleError::BadRequest(
        "A second factor is already set up for this account. Go back to your account page."
            .to_owned(),
    )
}

async fn totp_start(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    let setup = state
        .accounts
        .begin_totp_setup(&who.account)
        .map_err(|error| match error {
            TotpSetupError::AlreadyEnabled => already_enabled(),
            other => ConsoleError::Unknown(other.into()),
        })?;
    let page = TotpSetupPage {
        layout: Layout::signed_in("Set up an authenticator app", &who, &state, &req, None).await?,
        secret: setup.secret_base32.to_string(),
        uri: setup.otpauth_uri.to_string(),
        sealed: data_encoding::BASE64URL_NOPAD.encode(&setup.sealed),
        error: None,
    };
    render(&page, &page.layout)
}

#[derive(Template)]
#[template(path = "backup_codes.html")]
struct BackupCodesPage {
    layout: Layout,
    codes: Vec<String>,
}

#[derive(serde::Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    setup: String,
    #[serde(default)]
    code: String,
}

async fn totp_confirm(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    let expired = || {
        ConsoleError::BadRequest(
            "The set-up form expired or was altered. Go back to your account page and start again."
                .to_owned(),
        )
    };
    let sealed = data_encoding::BASE64URL_NOPAD
        .decode(form.setup.as_bytes())
        .map_err(|_| expired())?;
    let code: String = form
        .code
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(16)
        .collect();
    match state
        .accounts
        .confirm_totp_setup(&who.account, &sealed, &code)
        .await
    {
        Ok(codes) => {
            let page = BackupCodesPage {
                layout: Layout::signed_in("Backup codes", &who, &state, &req, None).await?,
                codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
            };
            render(&page, &page.layout)
        }
        Err(TotpSetupError::WrongCode) => {
            // The same secret again, so the operator need not re-scan: it is still not stored.
            let secret = state
                .accounts
                .reopen_totp_setup(&who.account, &sealed)
                .map_err(|_| expired())?;
            let page = TotpSetupPage {
                layout: Layout::signed_in("Set up an authenticator app", &who, &state, &req, None)
                    .await?,
                secret: secret.secret_base32.to_string(),
                uri: secret.otpauth_uri.to_string(),
                sealed: form.setup.clone(),
                error: Some(
                    "That code is wrong. Check that the device's clock is right and enter the code the app shows now.",
                ),
            };
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page, &page.layout)
        }
        Err(TotpSetupError::Invalid) => Err(expired()),
        Err(TotpSetupError::AlreadyEnabled) => Err(already_enabled()),
        Err(TotpSetupError::Unknown(error)) => Err(ConsoleError::Unknown(error)),
    }
}

#[derive(Template)]
#[template(path = "invited.html")]
struct InvitedPage {
    layout: Layout,
    email: String,
    role: &'static str,
    password: String,
}

#[derive(serde::Deserialize)]
struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn invite(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::ManageOperators)?;
    let email = OperatorEmail::parse(&form.email).map_err(|error| {
        ConsoleError::BadRequest(format!("The e-mail address is not usable: {error}."))
    })?;
    let role = OperatorRole::parse(&form.role)
        .map_err(|error| ConsoleError::BadRequest(format!("The role is not usable: {error}.")))?;
    let (account, password) = state
        .accounts
        .invite(&who.account, email, role)
        .await
        .map_err(|error| match error {
            CreateAccountError::EmailTaken => ConsoleError::BadRequest(
                "An operator with this e-mail address exists already.".to_owned(),
            ),
            CreateAccountError::NotAllowed => ConsoleError::Forbidden(
                "Only an owner may invite operators. Ask an owner of this console.",
            ),
            CreateAccountError::Busy(_) => ConsoleError::Busy,
            CreateAccountError::Unknown(error) => ConsoleError::Unknown(error),
        })?;
    let page = InvitedPage {
        layout: Layout::signed_in("Operator invited", &who, &state, &req, None).await?,
        email: account.email.as_str().to_owned(),
        role: account.role.as_str(),
        password: password.to_string(),
    };
    render(&page, &page.layout)
}
