//! Driving the console over HTTP like a browser without JavaScript: a cookie jar, forms with
//! their CSRF token, the `Origin` a browser sends, and no automatic redirects.

use crate::helpers::{MASTER_KEY, TestApp};
use domain::operator_account::{OperatorEmail, OperatorRole};
use domain::ports::NoLimits;
use domain::values::Password;
use reqwest::header::{HeaderMap, ORIGIN, SET_COOKIE};
use reqwest::{Client, StatusCode, redirect};
use secrecy::SecretString;
use server::settings::SecretsSection;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "__Host-latchkey_console";
pub const PASSWORD: &str = "correct horse battery";

/// A console answer.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get("location")
            .and_then(|value| value.to_str().ok())
    }

    /// The `Set-Cookie` line for `name`, if the answer sets it.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|line| line.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        hidden(&self.body, "csrf").expect("a csrf field on the page")
    }
}

/// The value of the hidden field `name` in `html`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// One browser: its own cookies.
pub struct Browser {
    pub base: String,
    client: Client,
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.address.clone(),
            client: Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        for line in headers.get_all(SET_COOKIE).iter() {
            let line = line.to_str().unwrap();
            let pair = line.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removal = line.to_ascii_lowercase().contains("max-age=0");
            if removal || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await.unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(response).await
    }

    /// A form POST as a browser on this origin sends it.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let origin = self.base.clone();
        self.post_from(path, fields, Some(&origin)).await
    }

    /// A form POST with this `Origin` (or none).
    pub async fn post_from(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(fields);
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        let response = request.send().await.unwrap();
        self.finish(response).await
    }

    /// Opens the sign-in form and posts it; the answer to the POST.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/console/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// Signs in and asserts it worked: the browser now holds a session.
    pub async fn signed_in(app: &TestApp, email: &str) -> Self {
        let mut browser = Self::new(app);
        let answer = browser.sign_in(email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.location(), Some("/console"));
        browser
    }

    pub fn session(&self) -> Option<String> {
        self.cookies.get(SESSION_COOKIE).cloned()
    }

    /// The CSRF token of a signed-in page's forms.
    pub async fn session_csrf(&mut self) -> String {
        self.get("/console/account").await.csrf()
    }
}

/// Creates an operator account on the app's database with [`PASSWORD`], as
/// `latchkey operators create` does.
pub async fn create_operator(app: &TestApp, email: &str, role: OperatorRole) {
    let secrets = SecretsSection {
        master_key: Some(SecretString::from(MASTER_KEY)),
        ..SecretsSection::default()
    };
    let master_key = Arc::new(server::master_key::load(&secrets).unwrap());
    let settings = crate::helpers::settings(&app.db.url);
    let accounts = server::operator_accounts(
        &app.db.store,
        server::hasher(&settings).unwrap(),
        Arc::new(NoLimits),
        master_key,
    );
    accounts
        .create_account(
            OperatorEmail::parse(email).unwrap(),
            &Password::parse(PASSWORD).unwrap(),
            role,
        )
        .await
        .unwrap();
}

/// The current TOTP code for a base32 secret, `steps_ahead` steps from now.
pub fn totp_code(secret_base32: &str, steps_ahead: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).unwrap();
    let totp = totp_rs::Builder::new()
        .with_secret(secret.as_bytes().to_vec())
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now + 30 * steps_ahead).to_string()
}
