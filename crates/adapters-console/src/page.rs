//! What every page shares: the layout's data ([`Layout`]), rendering a template into an
//! answer, and [`ConsoleError`], which renders the error pages.

use crate::auth::SignedIn;
use crate::flash;
use crate::state::ConsoleState;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use domain::operator_account::ConsoleAction;
use domain::page::PageRequest;
use std::fmt;

/// An application in the switcher.
pub struct AppLink {
    pub id: String,
    pub name: String,
}

/// The layout's data: every page template has a `layout: Layout` field.
pub struct Layout {
    pub title: String,
    /// `None` on the sign-in pages.
    pub operator: Option<OperatorNav>,
    /// The form token of the page's forms (the session's, or the sign-in form's).
    pub csrf: String,
    pub flash: Option<String>,
    /// The application being looked at, for the switcher and the per-application nav.
    pub current_app: Option<String>,
}

/// The signed-in part of the layout.
pub struct OperatorNav {
    pub email: String,
    pub role: &'static str,
    pub is_owner: bool,
    pub apps: Vec<AppLink>,
}

impl Layout {
    /// A sign-in page's layout.
    #[must_use]
    pub fn anonymous(title: &str, csrf: String, req: &HttpRequest) -> Self {
        Self {
            title: title.to_owned(),
            operator: None,
            csrf,
            flash: flash::take(req),
            current_app: None,
        }
    }

    /// A signed-in page's layout, with the application switcher.
    ///
    /// # Errors
    /// When the applications cannot be listed.
    pub async fn signed_in(
        title: &str,
        who: &SignedIn,
        state: &ConsoleState,
        req: &HttpRequest,
        current_app: Option<String>,
    ) -> Result<Self, ConsoleError> {
        // The switcher shows the first page (50); the applications screen lists them all.
        let apps = state
            .operator
            .list_applications(PageRequest::first())
            .await
            .map_err(ConsoleError::Unknown)?
            .items
            .into_iter()
            .map(|app| AppLink {
                id: app.id.to_string(),
                name: app.name.as_str().to_owned(),
            })
            .collect();
        Ok(Self {
            title: title.to_owned(),
            operator: Some(OperatorNav {
                email: who.account.email.as_str().to_owned(),
                role: who.account.role.as_str(),
                is_owner: who.account.role.allows(ConsoleAction::ManageOperators),
                apps,
            }),
            csrf: who.csrf.clone(),
            flash: flash::take(req),
            current_app,
        })
    }
}

/// Renders `template` as a 200 page, clearing the flash it showed.
///
/// # Errors
/// [`ConsoleError::Unknown`] when the template fails to render.
pub fn render<T: Template>(template: &T, layout: &Layout) -> Result<HttpResponse, ConsoleError> {
    render_status(StatusCode::OK, template, layout)
}

/// Renders `template` with `status`.
///
/// # Errors
/// [`ConsoleError::Unknown`] when the template fails to render.
pub fn render_status<T: Template>(
    status: StatusCode,
    template: &T,
    layout: &Layout,
) -> Result<HttpResponse, ConsoleError> {
    let body = template
        .render()
        .map_err(|error| ConsoleError::Unknown(anyhow::anyhow!("rendering a page: {error}")))?;
    let mut response = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    if layout.flash.is_some() {
        flash::clear(&mut response);
    }
    Ok(response)
}

/// Why a console request failed; each variant renders a page saying what to do.
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: a redirect to the sign-in page.
    SignInRequired,
    /// 400: a malformed form.
    BadRequest(String),
    /// 403: a refused CSRF token or origin, or a role that does not allow the action.
    Forbidden(&'static str),
    /// 404.
    NotFound,
    /// 429: too many failed sign-ins; try again after this many seconds.
    RateLimited(u64),
    /// 503: the hashing pool or the database is busy.
    Busy,
    /// 500: logged with its cause; the page says nothing of it.
    Unknown(anyhow::Error),
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SignInRequired => f.write_str("sign in required"),
            Self::BadRequest(message) => f.write_str(message),
            Self::Forbidden(message) => f.write_str(message),
            Self::NotFound => f.write_str("not found"),
            Self::RateLimited(seconds) => write!(f, "rate limited for {seconds} s"),
            Self::Busy => f.write_str("busy"),
            Self::Unknown(error) => write!(f, "{error:#}"),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: String,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignInRequired => StatusCode::SEE_OTHER,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unknown(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (heading, message) = match self {
            Self::SignInRequired => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/console/login"))
                    .finish();
            }
            Self::BadRequest(message) => ("The form could not be read", message.clone()),
            Self::Forbidden(message) => ("Refused", (*message).to_owned()),
            Self::NotFound => (
                "Not found",
                "There is nothing here. Go back to the applications list.".to_owned(),
            ),
            Self::RateLimited(seconds) => (
                "Too many attempts",
                format!(
                    "Too many failed sign-ins from here or for this account. Try again in {seconds} seconds."
                ),
            ),
            Self::Busy => (
                "Busy",
                "The server is busy. Wait a few seconds and try again.".to_owned(),
            ),
            Self::Unknown(error) => {
                tracing::error!(error = format!("{error:#}"), "console request failed");
                (
                    "Something went wrong",
                    "The server could not complete this. Try again; if it keeps failing, check the server's log.".to_owned(),
                )
            }
        };
        let page = ErrorPage {
            layout: Layout {
                title: heading.to_owned(),
                operator: None,
                csrf: String::new(),
                flash: None,
                current_app: None,
            },
            heading,
            message,
        };
        let mut builder = HttpResponse::build(self.status_code());
        if let Self::RateLimited(seconds) = self {
            builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        match page.render() {
            Ok(body) => builder.content_type("text/html; charset=utf-8").body(body),
            Err(_) => builder
                .content_type("text/plain; charset=utf-8")
                .body(heading),
        }
    }
}

/// Form bodies: small, and a malformed one is a 400 page, not actix's plain-text answer.
#[must_use]
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(16 * 1024)
        .error_handler(|error, _| {
            ConsoleError::BadRequest(format!(
                "The form was incomplete or malformed ({error}). Go back, reload the page and try again."
            ))
            .into()
        })
}
