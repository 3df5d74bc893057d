//! A client for Latchkey's integration API, for the program a vendor ships: sign users up
//! and in, read their membership, the application's variables and their own variables.
//!
//! ```no_run
//! # async fn run() -> Result<(), latchkey_client::Error> {
//! use latchkey_client::{Client, Credentials};
//!
//! let client = Client::builder("https://licensing.example.com", "lk_app_…", "lk_sec_…")
//!     // Pinned at build time: never read it from a file the user can edit.
//!     .response_signing_public_key("yOwq5LOFc4lOmguxfIpgbUIn43+ZUFrgHH2YIuGcmjw=")
//!     .hardware_id("device-hardware-id")
//!     .build()?;
//! client.login(Credentials::license_code("ABCD-EFGH-…")).await?;
//! let context = client.app_context().await?;
//! println!("{:?}", context.user.map(|user| user.membership));
//! # Ok(()) }
//! ```
//!
//! With a response-signing public key pinned, every answer is verified (docs/signing.md)
//! before it is read, refusals included, and every request carries a fresh
//! `Latchkey-Nonce`, so an answer recorded for another request does not verify. An answer
//! that does not verify is [`Error::Signature`], never data. With a request-signing private
//! key, every request is signed. A session that ends is renewed once, transparently, with
//! the credentials of the last [`Client::login`]. TLS certificates are always verified.
#![warn(missing_docs)]

pub mod signing;

#[cfg(feature = "blocking")]
pub mod blocking;
mod error;
mod types;

pub use error::Error;
pub use types::{
    Activation, AppContext, Application, Credentials, File, Membership, Session, User,
    UserVariable, Variable,
};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use signing::{ReceivedResponse, RequestSigner, RequestToSign, ResponseVerifier, SentRequest};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use types::{LoginAnswer, Refusal, UserVariables};

/// How long a call may take, unless [`ClientBuilder::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of one application. Cheap to clone; clones share the session. `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: reqwest::Url,
    api_key: String,
    api_secret: String,
    verifier: Option<ResponseVerifier>,
    signer: Option<RequestSigner>,
    hardware_id: Option<String>,
    /// Held across a sign-in, so that tasks that find the session ended renew it once.
    session: tokio::sync::Mutex<SessionState>,
}

#[derive(Default)]
struct SessionState {
    token: Option<String>,
    credentials: Option<Credentials>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("api_key", &self.inner.api_key)
            .field("api_secret", &"[redacted]")
            .field("verifier", &self.inner.verifier)
            .field("signer", &self.inner.signer)
            .field("hardware_id", &self.inner.hardware_id)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`]: [`Client::builder`].
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    api_key: String,
    api_secret: String,
    response_key: Option<String>,
    request_key: Option<String>,
    hardware_id: Option<String>,
    timeout: Duration,
    tolerance: Duration,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("api_secret", &"[redacted]")
            .field("response_key", &self.response_key)
            .field(
                "request_key",
                &self.request_key.as_ref().map(|_| "[redacted]"),
            )
            .field("hardware_id", &self.hardware_id)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ClientBuilder {
    /// Pins the application's response-signing public key (`response_signing_public_key`,
    /// standard base64, as the server shows it): every answer must then verify.
    #[must_use]
    pub fn response_signing_public_key(mut self, key: impl Into<String>) -> Self {
        self.response_key = Some(key.into());
        self
    }

    /// The request-signing private key (`request_signing_private_key`, standard base64 of
    /// the 32-byte seed, shown once by the server): every request is then signed.
    #[must_use]
    pub fn request_signing_private_key(mut self, key: impl Into<String>) -> Self {
        self.request_key = Some(key.into());
        self
    }

    /// The device's hardware id, sent with sign-up and sign-in.
    #[must_use]
    pub fn hardware_id(mut self, hardware_id: impl Into<String>) -> Self {
        self.hardware_id = Some(hardware_id.into());
        self
    }

    /// How long one HTTP call may take (default [`DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How far an answer's `created` may be from this machine's clock (default
    /// [`signing::DEFAULT_TOLERANCE`], 5 minutes).
    #[must_use]
    pub fn signature_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`Error::Configuration`] when the base URL is not an `http`/`https` URL or a key does
    /// not decode; [`Error::Transport`] when the HTTP client cannot be made.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = reqwest::Url::parse(&self.base_url)
            .map_err(|e| Error::Configuration(format!("base URL: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(Error::Configuration(
                "base URL: must be an http or https URL".into(),
            ));
        }
        let verifier = self
            .response_key
            .map(|key| {
                ResponseVerifier::new(&key)
                    .map(|verifier| verifier.with_tolerance(self.tolerance))
                    .ok_or_else(|| {
                        Error::Configuration(
                            "response signing public key: not standard base64 of an Ed25519 key"
                                .into(),
                        )
                    })
            })
            .transpose()?;
        let signer = self
            .request_key
            .map(|key| {
                RequestSigner::new(&key).ok_or_else(|| {
                    Error::Configuration(
                        "request signing private key: not standard base64 of 32 bytes".into(),
                    )
                })
            })
            .transpose()?;
        // No option turns certificate checks off: a program that skips them can be fooled.
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("latchkey-client-rust/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                api_key: self.api_key,
                api_secret: self.api_secret,
                verifier,
                signer,
                hardware_id: self.hardware_id,
                session: tokio::sync::Mutex::default(),
            }),
        })
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}

impl Client {
    /// A client of the application with `api_key` and `api_secret` at `base_url`, with no
    /// signature checks, no request signing and no hardware id: see [`Client::builder`].
    ///
    /// # Errors
    /// As [`ClientBuilder::build`].
    pub fn new(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        api_secret: impl Into<String>,
    ) -> Result<Self, Error> {
        Self::builder(base_url, api_key, api_secret).build()
    }

    /// A builder for a client of the application with `api_key` and `api_secret` at
    /// `base_url` (for example `https://licensing.example.com`, or with a path prefix).
    #[must_use]
    pub fn builder(
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        api_secret: impl Into<String>,
    ) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            response_key: None,
            request_key: None,
            hardware_id: None,
            timeout: DEFAULT_TIMEOUT,
            tolerance: signing::DEFAULT_TOLERANCE,
        }
    }

    /// Signs a new user up with a username and password.
    ///
    /// # Errors
    /// [`Error::UsernameTaken`], [`Error::ValidationFailed`], [`Error::Banned`],
    /// [`Error::RateLimited`], …
    pub async fn sign_up(&self, username: &str, password: &str) -> Result<User, Error> {
        let body = json!({
            "username": username,
            "password": password,
            "hardware_id": self.inner.hardware_id,
        });
        self.json(Method::POST, &["sign_up"], Some(&body), None)
            .await
    }

    /// Signs a new user up with a license code; the server generates the username.
    ///
    /// # Errors
    /// [`Error::InvalidLicenseCode`], [`Error::Banned`], …
    pub async fn sign_up_with_license_code(&self, code: &str) -> Result<User, Error> {
        let body = json!({"code": code, "hardware_id": self.inner.hardware_id});
        self.json(
            Method::POST,
            &["sign_up_with_license_code"],
            Some(&body),
            None,
        )
        .await
    }

    /// Signs in, and keeps the session and the credentials: the session is used by
    /// [`Client::app_context`] and the variables calls, and renewed with the credentials
    /// when it ends.
    ///
    /// # Errors
    /// [`Error::InvalidCredentials`], [`Error::MembershipInactive`],
    /// [`Error::DeviceLimitReached`], [`Error::SessionLimitReached`], [`Error::Banned`], …
    pub async fn login(&self, credentials: Credentials) -> Result<Session, Error> {
        let mut state = self.inner.session.lock().await;
        let answer = self.sign_in(&credentials).await?;
        state.token = Some(answer.session_token);
        state.credentials = Some(credentials);
        Ok(Session {
            expires_at: answer.expires_at,
        })
    }

    /// Adds a license's time to an existing user's membership.
    ///
    /// # Errors
    /// [`Error::InvalidLicenseCode`] (401), [`Error::InvalidCredentials`], [`Error::Banned`], …
    pub async fn activate_license(
        &self,
        code: &str,
        username: &str,
        password: &str,
    ) -> Result<Activation, Error> {
        let body = json!({"code": code, "username": username, "password": password});
        self.json(Method::POST, &["activate_license"], Some(&body), None)
            .await
    }

    /// The application, its variables and the signed-in user with their membership.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`] before [`Client::login`]; the errors of a sign-in when the
    /// session had to be renewed; [`Error::InvalidSession`] if it ends again at once.
    pub async fn app_context(&self) -> Result<AppContext, Error> {
        let body = self
            .with_session(Method::GET, &["app_context"], None)
            .await?;
        parse(&body)
    }

    /// The signed-in user's own variables.
    ///
    /// # Errors
    /// As [`Client::app_context`].
    pub async fn user_variables(&self) -> Result<Vec<UserVariable>, Error> {
        let body = self
            .with_session(Method::GET, &["user", "variables"], None)
            .await?;
        Ok(parse::<UserVariables>(&body)?.variables)
    }

    /// Sets one of the signed-in user's own variables.
    ///
    /// # Errors
    /// [`Error::ValidationFailed`] for a bad name or value, [`Error::Api`] with
    /// `too_many_variables`, and as [`Client::app_context`].
    pub async fn set_user_variable(&self, name: &str, value: &str) -> Result<UserVariable, Error> {
        let body = serde_json::to_vec(&json!({"value": value}))
            .map_err(|e| Error::Configuration(e.to_string()))?;
        let answer = self
            .with_session(Method::PUT, &["user", "variables", name], Some(body))
            .await?;
        parse(&answer)
    }

    /// Deletes one of the signed-in user's own variables.
    ///
    /// # Errors
    /// [`Error::Api`] with `not_found` when there is none, and as [`Client::app_context`].
    pub async fn delete_user_variable(&self, name: &str) -> Result<(), Error> {
        self.with_session(Method::DELETE, &["user", "variables", name], None)
            .await
            .map(drop)
    }

    async fn sign_in(&self, credentials: &Credentials) -> Result<LoginAnswer, Error> {
        let body = json!({"credentials": credentials, "hardware_id": self.inner.hardware_id});
        self.json(Method::POST, &["auth", "login"], Some(&body), None)
            .await
    }

    /// A call with the session, renewed once with the stored credentials when the server
    /// says it has ended.
    async fn with_session(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, Error> {
        let token = self
            .inner
            .session
            .lock()
            .await
            .token
            .clone()
            .ok_or(Error::NotSignedIn)?;
        match self
            .call(method.clone(), segments, body.clone(), Some(&token))
            .await
        {
            Err(Error::InvalidSession { detail }) => {
                let renewed = {
                    let mut state = self.inner.session.lock().await;
                    match (&state.token, &state.credentials) {
                        // Another task renewed it while this one waited.
                        (Some(current), _) if *current != token => current.clone(),
                        (_, Some(credentials)) => {
                            let answer = self.sign_in(credentials).await?;
                            state.token = Some(answer.session_token.clone());
                            answer.session_token
                        }
                        (_, None) => return Err(Error::InvalidSession { detail }),
                    }
                };
                self.call(method, segments, body, Some(&renewed)).await
            }
            other => other,
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&impl Serialize>,
        token: Option<&str>,
    ) -> Result<T, Error> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::Configuration(e.to_string()))?;
        let answer = self.call(method, segments, body, token).await?;
        parse(&answer)
    }

    /// One call under `/api/integration/`: nonce, request signature, then the answer's
    /// signature checked before its status or body is read.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Vec<u8>>,
        token: Option<&str>,
    ) -> Result<Vec<u8>, Error> {
        let inner = &self.inner;
        let mut url = inner.base_url.clone();
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|()| Error::Configuration("base URL: cannot be a base".into()))?
            .pop_if_empty()
            .extend(["api", "integration"])
            .extend(segments);
        let path = url.path().to_owned();
        let nonce = signing::new_nonce();
        let body = body.unwrap_or_default();
        let mut request = inner
            .http
            .request(method.clone(), url)
            .header("x-api-key", &inner.api_key)
            .header("x-api-secret", &inner.api_secret)
            .header(signing::NONCE_HEADER, &nonce);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let signed = inner.signer.as_ref().map(|signer| {
            let request = RequestToSign {
                method: method.as_str(),
                path: &path,
                query: "?",
                body: &body,
                api_key: &inner.api_key,
            };
            signer.sign(&request, unix_now(), &signing::new_nonce())
        });
        if let Some(signed) = &signed {
            if let Some(digest) = &signed.content_digest {
                request = request.header("content-digest", digest);
            }
            request = request
                .header("signature-input", &signed.signature_input)
                .header("signature", &signed.signature);
        }
        if !body.is_empty() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let answer = response.bytes().await?.to_vec();
        if let Some(verifier) = &inner.verifier {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            verifier.verify(
                &SentRequest {
                    method: method.as_str(),
                    path: &path,
                    nonce: Some(&nonce),
                    signature: signed.as_ref().map(|signed| signed.member.as_str()),
                },
                &ReceivedResponse {
                    status,
                    content_digest: header("content-digest"),
                    signature_input: header("signature-input"),
                    signature: header("signature"),
                    body: &answer,
                },
                unix_now(),
            )?;
        }
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        match serde_json::from_slice::<Refusal>(&answer) {
            Ok(refusal) => Err(Error::from_refusal(
                status,
                refusal.code,
                refusal.detail,
                refusal.field,
                retry_after(&headers),
            )),
            Err(_) => Err(Error::Http {
                status,
                body: String::from_utf8_lossy(&answer[..answer.len().min(512)]).into_owned(),
            }),
        }
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Http {
        status: 200,
        body: format!(
            "{e}: {}",
            String::from_utf8_lossy(&body[..body.len().min(512)])
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}

    #[test]
    fn the_client_is_send_sync_and_clone() {
        assert_send_sync_clone::<Client>();
    }

    #[test]
    fn debug_never_shows_secrets() {
        let builder = Client::builder("http://127.0.0.1:1", "lk_app_key", "lk_sec_secret")
            .request_signing_private_key(data_encoding::BASE64.encode(&[9_u8; 32]));
        assert!(!format!("{builder:?}").contains("lk_sec_secret"));
        let client = builder.build().unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("lk_sec_secret"), "{shown}");
        assert!(!shown.contains(&data_encoding::BASE64.encode(&[9_u8; 32])));
        let credentials = format!(
            "{:?} {:?}",
            Credentials::password("john", "hunter2hunter2"),
            Credentials::license_code("ABCD-EFGH")
        );
        assert!(!credentials.contains("hunter2") && !credentials.contains("ABCD"));
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert!(matches!(
            Client::new("ftp://x", "k", "s"),
            Err(Error::Configuration(_))
        ));
        assert!(matches!(
            Client::builder("http://x", "k", "s")
                .response_signing_public_key("not base64")
                .build(),
            Err(Error::Configuration(_))
        ));
        assert!(matches!(
            Client::builder("http://x", "k", "s")
                .request_signing_private_key("AAAA")
                .build(),
            Err(Error::Configuration(_))
        ));
    }

    #[tokio::test]
    async fn app_context_before_login_is_not_signed_in() {
        let client = Client::new("http://127.0.0.1:1", "k", "s").unwrap();
        assert!(matches!(
            client.app_context().await,
            Err(Error::NotSignedIn)
        ));
    }
}
