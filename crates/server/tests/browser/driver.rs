//! A real Chromium driven over WebDriver: Debian's `chromium` and `chromium-driver`
//! (`scripts/ensure-browser.sh` installs them; `make test` runs it first). Each test gets its
//! own chromedriver and browser profile, both gone when the [`Browser`] is dropped.

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session, and the chromedriver process behind it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    /// The profile and the downloads: removed with the browser.
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium. Panics, naming the fix, when either is
    /// not installed: a browser test never passes by being skipped.
    pub async fn start() -> Self {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(binary).exists(),
                "{binary} is missing: run scripts/ensure-browser.sh (make test does)"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("a browser profile directory");
        let downloads = profile.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("a downloads directory");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().join("profile").display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            }),
        );
        let address = format!("http://127.0.0.1:{port}");
        // chromedriver listens a moment after it starts: retry the session until it does.
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&address)
                .await
            {
                Ok(client) => break client,
                Err(error) => {
                    assert!(
                        Instant::now() < deadline,
                        "chromedriver never answered: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        Self {
            client,
            driver,
            profile,
        }
    }

    /// Where the browser saves downloads.
    pub fn downloads(&self) -> PathBuf {
        self.profile.path().join("downloads")
    }

    /// Saves a PNG of the page as it is under `target/console-shots/{name}.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = shots_dir();
        std::fs::create_dir_all(&dir).expect("target/console-shots");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("the screenshot is saved");
    }

    /// Ends the browser session (the driver is killed on drop).
    pub async fn close(self) {
        let Self { client, .. } = &self;
        client
            .clone()
            .close()
            .await
            .expect("the browser session ends");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The session's Chromium is chromedriver's child: it goes with it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `target/console-shots`, where docs/console.md's pictures come from.
pub fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("console-shots")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}
