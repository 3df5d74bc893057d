//! Starting the server and talking to it.

use adapters_postgres::testing::{TestDatabase, fresh_postgres, fresh_sqlite};
use reqwest::{Client, RequestBuilder, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use server::Server;
use server::settings::{
    AuditSection, BansSection, ConsoleSection, DatabaseSection, FilesSection, HashingSection,
    HttpSection, LimitsSection, LogSection, MetricsSection, OperatorSection, SecretsSection,
    Settings, SigningSection, WebhooksSection,
};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789";
/// Standard base64 of 32 bytes: the master key every test server seals with.
pub const MASTER_KEY: &str = "bGF0Y2hrZXktdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGU=";

/// Runs each named scenario on both backends: `scenario(Backend) -> impl Future`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::helpers::Backend::Postgres).await;
            })*
        }
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::helpers::Backend::Sqlite).await;
            })*
        }
    };
}

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A running server on its own database.
pub struct TestApp {
    pub address: String,
    /// `http://127.0.0.1:port` of `/metrics`, when `metrics.bind` was set.
    pub metrics_address: Option<String>,
    pub client: Client,
    pub db: TestDatabase,
    /// Where the server stores files' bytes, unless the test pointed it elsewhere.
    pub files_dir: tempfile::TempDir,
}

/// An application's credentials, as the operator API returned them.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    pub id: String,
    pub api_key: String,
    pub api_secret: String,
    pub admin_api_key: String,
    /// Standard base64 of the Ed25519 key that signs the application's answers.
    pub response_signing_public_key: String,
    pub response_signing_key_id: String,
}

/// Everything the servers of this test binary log, so tests can search it.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .try_init();
        logs
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn settings(url: &str) -> Settings {
    Settings {
        database: DatabaseSection {
            url: url.to_owned(),
            max_connections: 10,
            acquire_timeout_ms: 5000,
            statement_timeout_ms: 5000,
            application_cache_ms: 1000,
            session_retention_secs: 3600,
        },
        http: HttpSection {
            bind: "127.0.0.1:0".into(),
            trusted_proxies: String::new(),
            drain_delay_ms: 0,
            shutdown_timeout_secs: 5,
            workers: 2,
        },
        operator: OperatorSection {
            token: Some(SecretString::from(OPERATOR_TOKEN)),
        },
        hashing: HashingSection {
            max_concurrent: 0,
            max_wait_ms: 10_000,
        },
        // Off: tests send bursts from one address; the rate-limit tests turn them on.
        limits: LimitsSection {
            enabled: false,
            requests_per_second: 20,
            sign_ups_per_hour: 30,
            failed_attempts_per_minute: 10,
            ipv6_prefix: 64,
            redis_url: None,
        },
        audit: AuditSection {
            retention_days: 180,
        },
        webhooks: WebhooksSection {
            allow_private_targets: true,
            poll_interval_ms: 50,
            lease_seconds: 60,
            concurrency: 16,
        },
        // A test server gets a directory of its own (`TestApp::files_dir`); this one is for
        // servers built from these settings directly.
        files: FilesSection {
            url: format!(
                "file://{}",
                std::env::temp_dir()
                    .join(format!("latchkey-test-files-{}", std::process::id()))
                    .display()
            ),
            endpoint: None,
            max_size_bytes: 512 * 1024 * 1024,
        },
        bans: BansSection {
            cross_ban_ttl_seconds: 604_800,
        },
        signing: SigningSection {
            max_skew_seconds: 10,
        },
        secrets: SecretsSection {
            master_key: Some(SecretString::from(MASTER_KEY)),
            ..SecretsSection::default()
        },
        metrics: MetricsSection { bind: None },
        console: ConsoleSection::default(),
        log: LogSection {
            format: "pretty".into(),
            level: "debug".into(),
        },
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server whose settings `adjust` changes first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Self {
        captured_logs();
        let db = match backend {
            Backend::Postgres => fresh_postgres().await,
            Backend::Sqlite => fresh_sqlite().await,
        }
        .expect("a test database");
        let files_dir = tempfile::tempdir().expect("a directory for files");
        let mut settings = settings(&db.url);
        settings.files.url = format!("file://{}", files_dir.path().display());
        adjust(&mut settings);
        let server = Server::build(&settings).await.expect("the server starts");
        let address = format!("http://127.0.0.1:{}", server.port());
        let metrics_address = server
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        tokio::spawn(server.run());
        Self {
            address,
            metrics_address,
            client: Client::new(),
            db,
            files_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Creates an application through the operator API.
    pub async fn create_app(&self, device_authentication: bool) -> AppCredentials {
        let response = self
            .client
            .post(self.url("/api/operator/applications"))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({"name": "Test App", "device_authentication": device_authentication}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let field = |name: &str| body[name].as_str().unwrap().to_owned();
        AppCredentials {
            id: field("id"),
            api_key: field("api_key"),
            api_secret: field("api_secret"),
            admin_api_key: field("admin_api_key"),
            response_signing_public_key: field("response_signing_public_key"),
            response_signing_key_id: field("response_signing_key_id"),
        }
    }

    pub fn integration(&self, app: &AppCredentials, path: &str) -> RequestBuilder {
        self.client
            .post(self.url(path))
            .header("x-api-key", &app.api_key)
            .header("x-api-secret", &app.api_secret)
    }

    pub async fn sign_up(&self, app: &AppCredentials, body: Value) -> (StatusCode, Value) {
        send(
            self.integration(app, "/api/integration/sign_up")
                .json(&body),
        )
        .await
    }

    pub async fn license_sign_up(&self, app: &AppCredentials, body: Value) -> (StatusCode, Value) {
        send(
            self.integration(app, "/api/integration/sign_up_with_license_code")
                .json(&body),
        )
        .await
    }

    pub fn admin(
        &self,
        app: &AppCredentials,
        method: reqwest::Method,
        path: &str,
    ) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&app.admin_api_key)
    }

    /// Mints `count` licenses of `minutes` (None = lifetime) and returns their codes.
    pub async fn mint(
        &self,
        app: &AppCredentials,
        count: u32,
        minutes: Option<u32>,
    ) -> Vec<String> {
        let request = self
            .admin(app, reqwest::Method::POST, "/api/admin/licenses")
            .json(&json!({"count": count, "minutes": minutes}));
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["code"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn ban(&self, app: &AppCredentials, kind: &str, value: &str) -> (StatusCode, Value) {
        send(
            self.admin(app, reqwest::Method::POST, "/api/admin/bans")
                .json(&json!({"type": kind, "value": value})),
        )
        .await
    }

    pub async fn license(&self, app: &AppCredentials, code: &str) -> (StatusCode, Value) {
        send(self.admin(
            app,
            reqwest::Method::GET,
            &format!("/api/admin/license/{code}"),
        ))
        .await
    }

    pub async fn user(&self, app: &AppCredentials, query: &str) -> (StatusCode, Value) {
        send(self.admin(
            app,
            reqwest::Method::GET,
            &format!("/api/admin/user/{query}"),
        ))
        .await
    }
}

/// Sends and reads the answer; an empty body reads as `null`.
pub async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {bytes:?}"))
    };
    (status, body)
}

/// Sends every request at once, released together by a barrier from tasks of their own;
/// the answers in the order of the requests.
pub async fn all_at_once(requests: Vec<RequestBuilder>) -> Vec<(StatusCode, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                send(request).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// Asserts an error answer in the contract's format.
#[track_caller]
pub fn assert_error(answer: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert!(
        answer.1["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{}",
        answer.1
    );
}
