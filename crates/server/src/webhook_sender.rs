//! [`WebhookSender`] on reqwest: Standard Webhooks headers, no redirects, a 15 s limit, and
//! no target that resolves to a loopback, private, link-local or metadata address unless
//! `webhooks.allow_private_targets` is set. The check runs in the resolver, on the addresses
//! actually connected to, so a name that changes its answer after the endpoint was saved
//! (DNS rebinding) is still refused.

use adapters_http::AuditEventResponse;
use async_trait::async_trait;
use chrono::{SubsecRound as _, Utc};
use domain::ports::WebhookSender;
use domain::webhook::{AttemptOutcome, OutgoingWebhook, WebhookAttempt, WebhookUrl, signature};
use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

/// Success is a 2xx within this long.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest body sent; an event is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Addresses no webhook may reach unless private targets are allowed: this host, private
/// and shared networks, link-local (with the cloud metadata address 169.254.169.254),
/// multicast and reserved ranges.
static PRIVATE_RANGES: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/3",
        "::/127",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .filter_map(|range| range.parse().ok())
    .collect()
});

/// Whether webhooks may reach `ip` when private targets are not allowed. An IPv4-mapped
/// IPv6 address is judged as the IPv4 address it maps.
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    !PRIVATE_RANGES.iter().any(|range| range.contains(&ip))
}

fn refusal(host: &str, ip: IpAddr) -> String {
    format!(
        "{host} resolves to {ip}, a loopback, private, link-local or metadata address; \
         webhooks.allow_private_targets allows it"
    )
}

/// Why `host` may not be a target, when one of the addresses it resolved to is not public.
fn private_refusal(host: &str, addrs: &[SocketAddr]) -> Option<String> {
    addrs
        .iter()
        .find(|addr| !is_public(addr.ip()))
        .map(|private| refusal(host, private.ip()))
}

/// Resolves names, refusing any whose addresses include a non-public one.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(refused) = private_refusal(&host, &addrs) {
                return Err(refused.into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

pub struct HttpWebhookSender {
    client: reqwest::Client,
    allow_private_targets: bool,
}

impl HttpWebhookSender {
    /// # Errors
    /// When the TLS backend cannot start.
    pub fn new(allow_private_targets: bool) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would connect to private hosts by name, past
            // the resolver's check.
            .no_proxy()
            .timeout(SEND_TIMEOUT)
            .user_agent(concat!("Latchkey-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !allow_private_targets {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            client: builder.build()?,
            allow_private_targets,
        })
    }

    /// The refusal of a URL whose host is an address literal (it skips the resolver).
    fn literal_refusal(&self, url: &WebhookUrl) -> Option<String> {
        if self.allow_private_targets {
            return None;
        }
        let ip = match url.as_url().host()? {
            url::Host::Ipv4(v4) => IpAddr::V4(v4),
            url::Host::Ipv6(v6) => IpAddr::V6(v6),
            url::Host::Domain(_) => return None,
        };
        (!is_public(ip)).then(|| refusal(&ip.to_string(), ip))
    }

    async fn post(
        &self,
        webhook: &OutgoingWebhook<'_>,
        body: Vec<u8>,
    ) -> Result<(u16, String), String> {
        let timestamp = webhook.timestamp.timestamp();
        let message_id = webhook.message_id.to_string();
        let signatures: Vec<String> = webhook
            .keys
            .iter()
            .map(|key| signature(key, &message_id, timestamp, &body))
            .collect();
        let mut response = self
            .client
            .post(webhook.url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", &message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let mut excerpt = Vec::new();
        while excerpt.len() < WebhookAttempt::MAX_RESPONSE {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(WebhookAttempt::MAX_RESPONSE);
        Ok((status, String::from_utf8_lossy(&excerpt).into_owned()))
    }
}

/// What went wrong, with the causes reqwest's generic message hides, and without the URL
/// (its query may carry a token).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", SEND_TIMEOUT.as_secs());
    }
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The body: `{"type", "timestamp", "data"}`, as Standard Webhooks suggests. `data` is the
/// event as the audit log shows it; a test message names its endpoint.
fn body(webhook: &OutgoingWebhook<'_>) -> serde_json::Result<Vec<u8>> {
    let (timestamp, data) = match webhook.event {
        Some(event) => (
            event.occurred_at,
            serde_json::to_value(AuditEventResponse::from(event.clone()))?,
        ),
        None => {
            let sent = webhook
                .message_id
                .get_timestamp()
                .and_then(|at| {
                    let (secs, nanos) = at.to_unix();
                    chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
                })
                .unwrap_or(webhook.timestamp);
            (
                sent,
                serde_json::json!({ "endpoint_id": webhook.endpoint_id.to_string() }),
            )
        }
    };
    serde_json::to_vec(&serde_json::json!({
        "type": webhook.message_type,
        "timestamp": timestamp.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": data,
    }))
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn check_target(&self, url: &WebhookUrl) -> Result<(), String> {
        if let Some(refused) = self.literal_refusal(url) {
            return Err(refused);
        }
        if self.allow_private_targets {
            return Ok(());
        }
        let Some(url::Host::Domain(host)) = url.as_url().host() else {
            return Ok(());
        };
        // A name that does not resolve yet (or not within 5 s) is allowed: its deliveries
        // retry until it does, and each connection is checked.
        let lookup =
            tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((host, 0)));
        let Ok(Ok(addrs)) = lookup.await else {
            return Ok(());
        };
        private_refusal(host, &addrs.collect::<Vec<_>>()).map_or(Ok(()), Err)
    }

    async fn send<'a>(&self, webhook: &OutgoingWebhook<'a>) -> WebhookAttempt {
        // To the microsecond, as every stored time (the clock port's precision).
        let attempted_at = Utc::now().trunc_subsecs(6);
        let started = Instant::now();
        let result = match (self.literal_refusal(webhook.url), body(webhook)) {
            (Some(refused), _) => Err(refused),
            (None, Err(error)) => Err(format!("the body could not be written: {error}")),
            (None, Ok(body)) if body.len() > MAX_BODY_BYTES => Err(format!(
                "the body is {} bytes, over the {MAX_BODY_BYTES}-byte cap",
                body.len()
            )),
            (None, Ok(body)) => self.post(webhook, body).await,
        };
        let duration_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        match result {
            Ok((status, response)) => WebhookAttempt {
                attempted_at,
                status: Some(status),
                duration_ms,
                response,
                error: None,
                outcome: AttemptOutcome::of(Some(status)),
            },
            Err(error) => WebhookAttempt {
                attempted_at,
                status: None,
                duration_ms,
                response: String::new(),
                error: Some(error),
                outcome: AttemptOutcome::Failed,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:2800:220:1::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_private_target_is_refused_unless_allowed() {
        let strict = HttpWebhookSender::new(false).unwrap();
        let lenient = HttpWebhookSender::new(true).unwrap();
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://localhost:9/hook",
        ] {
            let url = WebhookUrl::parse(url).unwrap();
            let refused = strict.check_target(&url).await.unwrap_err();
            assert!(refused.contains("allow_private_targets"), "{refused}");
            assert_eq!(lenient.check_target(&url).await, Ok(()));
        }
    }
}
