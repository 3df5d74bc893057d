//! Who is calling: an application's integration credentials, its admin key, or the operator.

use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::origin::Origin;
use crate::signing::{AnsweringApp, CredentialsChecked, RequestBinding};
use actix_web::HttpMessage as _;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use domain::application::Application;
use domain::errors::AuthenticateError;
use domain::event::{Actor, ChangedBy};
use domain::ports::{RateLimit, RateLimiter};
use domain::services::{AdminApi, IntegrationApi, RequestSignatureError, RequestSigning};
use domain::values::Digest;
use futures_util::future::LocalBoxFuture;
use std::future::{Ready, ready};

/// The application named by `x-api-key` / `x-api-secret`.
pub struct IntegrationApp(pub Application);

/// The application whose admin key is the bearer token.
pub struct AdminApp(pub Application, pub Actor);

impl AdminApp {
    /// Who makes a change through this admin request, and from where.
    pub fn changed_by(&self, origin: Origin) -> ChangedBy {
        ChangedBy {
            actor: self.1.clone(),
            context: Some(origin.0),
        }
    }
}

/// Proof that the caller holds the operator token.
pub struct Operator;

impl Operator {
    /// Who makes a change through this operator request, and from where.
    pub fn changed_by(&self, origin: Origin) -> ChangedBy {
        ChangedBy {
            actor: Actor::Operator,
            context: Some(origin.0),
        }
    }
}

/// The operator token from configuration, kept only as a digest.
#[derive(Clone)]
pub struct OperatorToken(Digest);

impl OperatorToken {
    #[must_use]
    pub fn new(token: &str) -> Self {
        Self(Digest::of(token))
    }
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

pub(crate) fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = header_str(req, header::AUTHORIZATION.as_str())?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn map_auth(error: AuthenticateError, invalid: ApiError) -> ApiError {
    match error {
        AuthenticateError::InvalidCredentials => invalid,
        AuthenticateError::Unknown(error) => ApiError::from(error),
    }
}

impl FromRequest for IntegrationApp {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = header_str(req, "x-api-key").map(str::to_owned);
        let secret = header_str(req, "x-api-secret").map(str::to_owned);
        let service = req.app_data::<web::Data<dyn IntegrationApi>>().cloned();
        let limiter = req.app_data::<web::Data<dyn RateLimiter>>().cloned();
        let request_signing = req.app_data::<web::Data<dyn RequestSigning>>().cloned();
        let ip = client_ip(req);
        let req = req.clone();
        Box::pin(async move {
            req.extensions_mut().insert(CredentialsChecked);
            let (Some(key), Some(secret), Some(service)) = (key, secret, service) else {
                return Err(ApiError::InvalidApplicationCredentials);
            };
            let app = service
                .authenticate(&key, &secret)
                .await
                .map_err(|e| map_auth(e, ApiError::InvalidApplicationCredentials))?;
            // From here on the answer, whatever it is, is signed with this application's keys.
            req.extensions_mut().insert(AnsweringApp(app.clone()));
            let binding = req.extensions().get::<RequestBinding>().cloned();
            if binding
                .as_ref()
                .is_some_and(RequestBinding::nonce_is_invalid)
            {
                return Err(ApiError::field(
                    "Latchkey-Nonce",
                    "must be 16 to 128 characters of A-Z, a-z, 0-9, _ and -",
                ));
            }
            // Before any other work: a request that must be signed and is not, or whose
            // signature fails, goes no further.
            if app.settings.request_signing {
                let (Some(binding), Some(checker)) = (binding, request_signing) else {
                    return Err(ApiError::MissingSignature);
                };
                let signed = binding.parts.signed_request()?;
                checker
                    .check_signed_request(&app, &signed)
                    .await
                    .map_err(|error| match error {
                        RequestSignatureError::Missing => ApiError::MissingSignature,
                        RequestSignatureError::Invalid => ApiError::InvalidSignature,
                        RequestSignatureError::Stale => ApiError::StaleSignature,
                        RequestSignatureError::Replayed => ApiError::ReplayedRequest,
                        RequestSignatureError::Unknown(error) => ApiError::from(error),
                    })?;
            }
            // Every integration request counts against its (application, client IP) limit.
            if let Some(limiter) = limiter {
                limiter.count(RateLimit::Requests, app.id, ip).await?;
            }
            Ok(Self(app))
        })
    }
}

impl FromRequest for AdminApp {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = bearer(req).map(str::to_owned);
        let service = req.app_data::<web::Data<dyn AdminApi>>().cloned();
        Box::pin(async move {
            let (Some(key), Some(service)) = (key, service) else {
                return Err(ApiError::InvalidAdminKey);
            };
            let app = service
                .authenticate_admin(&key)
                .await
                .map_err(|e| map_auth(e, ApiError::InvalidAdminKey))?;
            Ok(Self(
                app,
                Actor::AdminKey(Actor::admin_key_id(&Digest::of(&key))),
            ))
        })
    }
}

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    /// With no operator token configured the operator API does not exist: 404.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(expected) = req.app_data::<web::Data<OperatorToken>>() else {
            return ready(Err(ApiError::NotFound("route")));
        };
        let presented = bearer(req).map(Digest::of);
        ready(match presented {
            Some(presented) if expected.0.matches(&presented) => Ok(Self),
            _ => Err(ApiError::InvalidOperatorToken),
        })
    }
}
