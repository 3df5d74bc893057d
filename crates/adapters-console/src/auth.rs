//! The console session cookie and the [`SignedIn`] extractor: a handler that takes
//! `SignedIn` only runs for a live, fully signed-in session; it then checks the role with
//! [`SignedIn::require`] and a POST's token with [`SignedIn::verify_csrf`].

use crate::csrf;
use crate::page::ConsoleError;
use crate::state::ConsoleState;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use domain::event::{Actor, ChangedBy, RequestContext};
use domain::operator_account::{ConsoleAction, ConsoleToken, OperatorAccount};
use std::future::Future;
use std::pin::Pin;

/// `__Host-`: the browser keeps it only when Secure, Path=/ and without Domain, so no
/// sibling subdomain can plant or read it.
pub const SESSION_COOKIE: &str = "__Host-latchkey_console";

/// The session cookie carrying `token` (a browser-session cookie: the server ends the
/// session after 12 idle hours or 7 days in any case).
#[must_use]
pub fn session_cookie(token: &ConsoleToken) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.expose().to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish()
}

/// A cookie that removes the session cookie.
#[must_use]
pub fn removal_cookie() -> Cookie<'static> {
    let mut cookie = session_cookie(&ConsoleToken::from_cookie(""));
    cookie.make_removal();
    cookie
}

/// The session token the browser sent, if any.
#[must_use]
pub fn token(req: &HttpRequest) -> Option<ConsoleToken> {
    req.cookie(SESSION_COOKIE)
        .map(|cookie| ConsoleToken::from_cookie(cookie.value()))
        .filter(|token| !token.expose().is_empty())
}

/// A signed-in operator.
pub struct SignedIn {
    pub account: OperatorAccount,
    pub token: ConsoleToken,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
}

impl SignedIn {
    /// Refuses what the operator's role does not allow.
    ///
    /// # Errors
    /// [`ConsoleError::Forbidden`].
    pub fn require(&self, action: ConsoleAction) -> Result<(), ConsoleError> {
        if self.account.role.allows(action) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "Your role does not allow this. Ask an owner of this console to do it, or to change your role.",
            ))
        }
    }

    /// Checks a POST's CSRF token and origin.
    ///
    /// # Errors
    /// [`ConsoleError::Forbidden`].
    pub fn verify_csrf(&self, req: &HttpRequest, submitted: &str) -> Result<(), ConsoleError> {
        csrf::verify(req, &self.csrf, submitted)
    }

    /// Who makes a change from this request, for its event: this operator's account, from
    /// the client's address (read with the server's trusted-proxy rules) and user agent.
    #[must_use]
    pub fn changed_by(&self, state: &ConsoleState, req: &HttpRequest) -> ChangedBy {
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| {
                agent
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(RequestContext::MAX_USER_AGENT)
                    .collect::<String>()
            })
            .filter(|agent| !agent.is_empty());
        ChangedBy {
            actor: Actor::ConsoleOperator(self.account.id),
            context: Some(RequestContext {
                client_ip: (state.client_ip)(req),
                user_agent,
                request_id: None,
            }),
        }
    }
}

impl FromRequest for SignedIn {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<ConsoleState>>().cloned();
        let token = token(req);
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(ConsoleError::SignInRequired);
            };
            let Some(found) = state
                .accounts
                .session(&token)
                .await
                .map_err(ConsoleError::Unknown)?
            else {
                return Err(ConsoleError::SignInRequired);
            };
            Ok(Self {
                csrf: csrf::session_token(&token),
                account: found.account,
                token,
            })
        })
    }
}
