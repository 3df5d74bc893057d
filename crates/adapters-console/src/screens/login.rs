//! Sign-in (password, then the second factor when the account has one) and sign-out.

use crate::auth::{self, SignedIn};
use crate::csrf::{self, LOGIN_CSRF_COOKIE};
use crate::flash;
use crate::page::{ConsoleError, Layout, render, render_status};
use crate::screens::CsrfOnly;
use crate::state::ConsoleState;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::services::{ConsoleSignInError, SecondFactorError, SignInStep};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/login/code", web::get().to(code_form))
        .route("/login/code", web::post().to(code))
        .route("/logout", web::post().to(logout));
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    layout: Layout,
    error: Option<&'static str>,
}

/// The sign-in form, with a fresh pre-session CSRF token in its cookie and hidden field.
fn login_page(
    req: &HttpRequest,
    status: StatusCode,
    email: String,
    error: Option<&'static str>,
) -> Result<HttpResponse, ConsoleError> {
    let token = csrf::random_token();
    let page = LoginPage {
        layout: Layout::anonymous("Sign in", token.clone(), req),
        email,
        error,
    };
    let mut response = render_status(status, &page, &page.layout)?;
    response
        .add_cookie(&csrf::login_cookie(&token))
        .map_err(|error| ConsoleError::Unknown(error.into()))?;
    Ok(response)
}

async fn login_form(req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    login_page(&req, StatusCode::OK, String::new(), None)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

async fn login(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    let expected = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .unwrap_or_default();
    csrf::verify(&req, &expected, &form.csrf)?;
    let ip = (state.client_ip)(&req);
    let started = match state
        .accounts
        .sign_in(&form.email, &form.password, ip)
        .await
    {
        Ok(step) => step,
        Err(ConsoleSignInError::WrongCredentials) => {
            return login_page(
                &req,
                StatusCode::UNAUTHORIZED,
                form.email.chars().take(254).collect(),
                Some("The e-mail address or password is wrong. Check both and try again."),
            );
        }
        Err(ConsoleSignInError::RateLimited(limited)) => {
            return Err(ConsoleError::RateLimited(
                limited.retry_after.as_secs().max(1),
            ));
        }
        Err(ConsoleSignInError::Busy(_)) => return Err(ConsoleError::Busy),
        Err(ConsoleSignInError::Unknown(error)) => return Err(ConsoleError::Unknown(error)),
    };
    // Whatever session cookie the browser had is replaced: a new id at every sign-in.
    if let Some(old) = auth::token(&req) {
        state
            .accounts
            .sign_out(&old)
            .await
            .map_err(ConsoleError::Unknown)?;
    }
    let (location, session) = match started {
        SignInStep::Complete(session) => ("/console", session),
        SignInStep::SecondFactorNeeded(session) => ("/console/login/code", session),
    };
    let mut response = redirect(location);
    response
        .add_cookie(&auth::session_cookie(&session.token))
        .map_err(|error| ConsoleError::Unknown(error.into()))?;
    let mut spent = csrf::login_cookie("");
    spent.make_removal();
    response
        .add_cookie(&spent)
        .map_err(|error| ConsoleError::Unknown(error.into()))?;
    Ok(response)
}

/// The second-factor form, only for a pending session.
async fn code_form(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
) -> Result<HttpResponse, ConsoleError> {
    let Some(token) = auth::token(&req) else {
        return Ok(redirect("/console/login"));
    };
    if !state
        .accounts
        .pending_session(&token)
        .await
        .map_err(ConsoleError::Unknown)?
    {
        return Ok(redirect("/console/login"));
    }
    let page = CodePage {
        layout: Layout::anonymous("Second factor", csrf::session_token(&token), &req),
        error: None,
    };
    render(&page, &page.layout)
}

#[derive(serde::Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn code(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, ConsoleError> {
    let Some(token) = auth::token(&req) else {
        return Ok(redirect("/console/login"));
    };
    csrf::verify(&req, &csrf::session_token(&token), &form.csrf)?;
    let ip = (state.client_ip)(&req);
    let code: String = form.code.chars().take(64).collect();
    match state.accounts.second_factor(&token, &code, ip).await {
        Ok(session) => {
            let mut response = redirect("/console");
            response
                .add_cookie(&auth::session_cookie(&session.token))
                .map_err(|error| ConsoleError::Unknown(error.into()))?;
            Ok(response)
        }
        Err(SecondFactorError::WrongCode) => {
            let page = CodePage {
                layout: Layout::anonymous("Second factor", csrf::session_token(&token), &req),
                error: Some(
                    "That code is wrong or was already used. Enter the current code from your app, or an unused backup code.",
                ),
            };
            render_status(StatusCode::UNAUTHORIZED, &page, &page.layout)
        }
        Err(SecondFactorError::Expired) => Ok(flash::redirect_with(
            "/console/login",
            "The sign-in took too long. Sign in again.",
        )),
        Err(SecondFactorError::RateLimited(limited)) => Err(ConsoleError::RateLimited(
            limited.retry_after.as_secs().max(1),
        )),
        Err(SecondFactorError::Unknown(error)) => Err(ConsoleError::Unknown(error)),
    }
}

/// Ends the session on the server and removes the cookie.
async fn logout(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    state
        .accounts
        .sign_out(&who.token)
        .await
        .map_err(ConsoleError::Unknown)?;
    let mut response = flash::redirect_with("/console/login", "You are signed out.");
    response
        .add_cookie(&auth::removal_cookie())
        .map_err(|error| ConsoleError::Unknown(error.into()))?;
    Ok(response)
}
