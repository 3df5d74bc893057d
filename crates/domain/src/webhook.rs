//! Webhooks, Standard Webhooks v1 (standardwebhooks.com): endpoints an application's events
//! are delivered to, the deliveries the dispatcher makes of the committed events (the events
//! table is the outbox), and the rules of signing, retrying and disabling.

use crate::event::{Event, EventType};
use crate::values::{ApplicationId, EventId, WebhookDeliveryId, WebhookEndpointId};
use chrono::{DateTime, Duration, Utc};
use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;
use std::fmt;
use thiserror::Error;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Why an endpoint's input is refused; each names its field.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WebhookInputError {
    #[error(
        "must be an absolute http or https URL of at most 2048 characters, without credentials"
    )]
    Url,
    #[error("must hold 1 to 32 patterns: an event type, `<noun>.*` or `*`")]
    EventTypes,
    #[error("must be at most 256 characters, without control characters")]
    Description,
}

/// Which event types an endpoint receives: one type (`user.created`), every type of a noun
/// (`license.*`), or all of them (`*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypePattern(String);

impl EventTypePattern {
    pub const MAX_PER_ENDPOINT: usize = 32;

    /// # Errors
    /// [`WebhookInputError::EventTypes`] unless `raw` is `*`, a known noun followed by `.*`,
    /// or a known event type.
    pub fn parse(raw: &str) -> Result<Self, WebhookInputError> {
        let known = raw == "*"
            || EventType::parse(raw).is_some()
            || raw.strip_suffix(".*").is_some_and(|noun| {
                EventType::ALL
                    .iter()
                    .any(|kind| kind.as_str().split_once('.').map(|(n, _)| n) == Some(noun))
            });
        if known {
            Ok(Self(raw.to_owned()))
        } else {
            Err(WebhookInputError::EventTypes)
        }
    }

    /// A list of patterns, as an endpoint holds it.
    ///
    /// # Errors
    /// [`WebhookInputError::EventTypes`] for an empty or too long list, or a bad pattern.
    pub fn parse_all<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Self>, WebhookInputError> {
        if raw.is_empty() || raw.len() > Self::MAX_PER_ENDPOINT {
            return Err(WebhookInputError::EventTypes);
        }
        raw.iter().map(|one| Self::parse(one.as_ref())).collect()
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn matches(&self, event_type: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => event_type.starts_with(prefix),
            None => self.0 == event_type,
        }
    }
}

/// Where an endpoint's deliveries go: an absolute `http` or `https` URL. Whether its host
/// may be reached is the sender's to say ([`crate::ports::WebhookSender::check_target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub const MAX_LEN: usize = 2048;

    /// # Errors
    /// [`WebhookInputError::Url`] for anything but an http(s) URL with a host, no user
    /// name or password, of at most [`Self::MAX_LEN`] characters.
    pub fn parse(raw: &str) -> Result<Self, WebhookInputError> {
        let url = url::Url::parse(raw).map_err(|_| WebhookInputError::Url)?;
        // The stored form, after percent-encoding and IDNA, is what must fit.
        let usable = url.as_str().len() <= Self::MAX_LEN
            && matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.username().is_empty()
            && url.password().is_none();
        if usable {
            Ok(Self(url))
        } else {
            Err(WebhookInputError::Url)
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    #[must_use]
    pub const fn as_url(&self) -> &url::Url {
        &self.0
    }
}

/// A description of at most 256 characters, without control characters.
///
/// # Errors
/// [`WebhookInputError::Description`] when longer, or with a control character.
pub fn description(raw: String) -> Result<String, WebhookInputError> {
    if raw.chars().count() <= 256 && !raw.chars().any(char::is_control) {
        Ok(raw)
    } else {
        Err(WebhookInputError::Description)
    }
}

/// An endpoint's signing secret, `whsec_` and the base64 of 32 random bytes: shown once,
/// kept sealed under the master key.
pub struct WebhookSecret(Zeroizing<String>);

impl WebhookSecret {
    const PREFIX: &'static str = "whsec_";

    #[must_use]
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0_u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        Self::from_key(key.as_ref())
    }

    /// The secret of the key bytes a sealed secret opens to.
    #[must_use]
    pub fn from_key(key: &[u8]) -> Self {
        Self(Zeroizing::new(format!(
            "{}{}",
            Self::PREFIX,
            BASE64.encode(key)
        )))
    }

    /// The HMAC key: the bytes after `whsec_`.
    #[must_use]
    pub fn key(&self) -> Zeroizing<Vec<u8>> {
        let encoded = self.0.strip_prefix(Self::PREFIX).unwrap_or_default();
        Zeroizing::new(BASE64.decode(encoded.as_bytes()).unwrap_or_default())
    }

    /// The secret itself, to show once.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the secret is sealed for: bound to its endpoint, so a sealed value copied to
    /// another endpoint does not open there.
    #[must_use]
    pub fn purpose(endpoint: WebhookEndpointId) -> String {
        format!("webhook-secret:{endpoint}")
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`: one entry of `webhook-signature`.
#[must_use]
pub fn signature(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(&mac.finalize().into_bytes()))
}

/// A secret replaced by a rotation, still signing until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub sealed: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

/// Why the server turned an endpoint off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisabledReason {
    /// The target answered `410 Gone`.
    Gone,
    /// Every attempt failed for [`DISABLE_AFTER_FAILING`].
    Failing,
}

impl DisabledReason {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Gone => "gone",
            Self::Failing => "failing",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Gone, Self::Failing]
            .into_iter()
            .find(|reason| reason.as_str() == raw)
    }
}

/// An application's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub application_id: ApplicationId,
    pub url: WebhookUrl,
    pub event_types: Vec<EventTypePattern>,
    pub enabled: bool,
    pub description: String,
    /// The secret, sealed for [`WebhookSecret::purpose`].
    pub sealed_secret: Vec<u8>,
    pub previous_secret: Option<PreviousSecret>,
    /// When the first of an unbroken run of failed attempts was made.
    pub failing_since: Option<DateTime<Utc>>,
    /// Set when the server turned the endpoint off; cleared when it is enabled again.
    pub disabled_reason: Option<DisabledReason>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was last turned on (made enabled, or enabled again): it is sent the events
    /// that occur from then on.
    pub enabled_since: DateTime<Utc>,
}

impl WebhookEndpoint {
    #[must_use]
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.event_types
            .iter()
            .any(|pattern| pattern.matches(event_type))
    }
}

/// A change to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookEndpointChange {
    pub url: Option<WebhookUrl>,
    pub event_types: Option<Vec<EventTypePattern>>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Due at `next_attempt_at`, or being attempted.
    Pending,
    Succeeded,
    /// Every retry failed; a redelivery makes it pending again.
    Failed,
}

impl DeliveryState {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|state| state.as_str() == raw)
    }
}

/// The type of the message [`crate::ports::WebhookStore`] sends for a test.
pub const TEST_MESSAGE_TYPE: &str = "webhook_endpoint.test";

/// One message for one endpoint, with every attempt to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    pub application_id: ApplicationId,
    pub endpoint_id: WebhookEndpointId,
    /// `webhook-id`: the event's id, the same on every attempt and redelivery, so a
    /// receiver can drop duplicates.
    pub message_id: Uuid,
    /// `None` for a test message.
    pub event_id: Option<EventId>,
    /// The event type, or [`TEST_MESSAGE_TYPE`].
    pub message_type: String,
    pub state: DeliveryState,
    /// Attempts since it was queued or last redelivered; the retry schedule counts these.
    pub attempts_in_run: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Newest first.
    pub attempts: Vec<WebhookAttempt>,
}

impl WebhookDelivery {
    /// A test message for `endpoint`, due at once.
    #[must_use]
    pub fn test(endpoint: &WebhookEndpoint, now: DateTime<Utc>) -> Self {
        Self {
            id: WebhookDeliveryId::generate(),
            application_id: endpoint.application_id,
            endpoint_id: endpoint.id,
            message_id: Uuid::now_v7(),
            event_id: None,
            message_type: TEST_MESSAGE_TYPE.to_owned(),
            state: DeliveryState::Pending,
            attempts_in_run: 0,
            next_attempt_at: now,
            created_at: now,
            attempts: Vec::new(),
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// A `2xx` answer.
    Succeeded,
    /// `410 Gone`: the endpoint is turned off.
    Gone,
    /// Any other answer, a timeout, a network error, or a refused target.
    Failed,
}

impl AttemptOutcome {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Gone => "gone",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Succeeded, Self::Gone, Self::Failed]
            .into_iter()
            .find(|outcome| outcome.as_str() == raw)
    }

    /// The outcome of an answer with `status`, or of no answer.
    #[must_use]
    pub fn of(status: Option<u16>) -> Self {
        match status {
            Some(200..=299) => Self::Succeeded,
            Some(410) => Self::Gone,
            _ => Self::Failed,
        }
    }
}

/// One attempt to send a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub attempted_at: DateTime<Utc>,
    /// The answer's status; `None` when there was none.
    pub status: Option<u16>,
    pub duration_ms: u32,
    /// The first [`WebhookAttempt::MAX_RESPONSE`] bytes of the answer's body, as text.
    pub response: String,
    /// Why there was no usable answer: a timeout, a refused target, a network error.
    pub error: Option<String>,
    pub outcome: AttemptOutcome,
}

impl WebhookAttempt {
    pub const MAX_RESPONSE: usize = 2048;
}

/// The retry schedule after the 1st, 2nd, … failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h, 10 h. After the 8th the delivery has failed.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
];

/// An endpoint whose attempts have all failed for this long is turned off.
pub const DISABLE_AFTER_FAILING: Duration = Duration::days(5);

/// When to try again after the `failed_attempts`-th failure in a row, ±10 % so that
/// deliveries failed together do not retry together; `None` when there are no retries left.
#[must_use]
pub fn retry_at(failed_attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let index = usize::try_from(failed_attempts).ok()?.checked_sub(1)?;
    let delay = RETRY_DELAYS.get(index)?;
    let millis = delay.num_milliseconds();
    let jitter = rand::thread_rng().gen_range(-millis / 10..=millis / 10);
    Some(now + Duration::milliseconds(millis + jitter))
}

/// A delivery claimed for sending: the lease names the claim, so that a sender whose lease
/// ran out (another replica claimed it since) cannot record its attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub delivery: WebhookDelivery,
    pub endpoint: WebhookEndpoint,
    /// The event to send; `None` for a test message.
    pub event: Option<Event>,
    pub lease: Uuid,
}

/// Where the dispatcher stands in the events table, in commit order: every event up to here
/// has been handed to the endpoints subscribed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanOutPosition {
    /// The order of the event's transaction among commits (the store's notion).
    pub commit_order: i64,
    /// The event, among those of one transaction.
    pub event: EventId,
}

/// Events committed past the dispatcher's position, taken under a lease: until
/// `lease_until` no other replica takes them, and only this lease may move the position past
/// them ([`crate::ports::Transaction::record_fan_out`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvents {
    pub lease: Uuid,
    /// In commit order.
    pub events: Vec<Event>,
    /// The enabled endpoints of the events' applications.
    pub endpoints: Vec<WebhookEndpoint>,
    /// The last event's position.
    pub through: FanOutPosition,
}

/// What a taker of new events found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenEvents {
    /// Nothing committed past the position.
    Nothing,
    /// Events wait, but cannot be taken yet: another replica holds them, or transactions
    /// that began writing before they committed are still open (which may yet add events
    /// before them).
    NotYet,
    Taken(NewEvents),
}

/// What one round of the dispatcher's new events did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FanOutRound {
    Nothing,
    NotYet,
    /// `events` taken, and how each of their deliveries' attempts ended.
    Delivered {
        events: u64,
        outcomes: Vec<AttemptOutcome>,
    },
}

impl NewEvents {
    /// A delivery of each event to every endpoint subscribed to its type that was on when it
    /// occurred, not yet attempted.
    #[must_use]
    pub fn deliveries(&self) -> Vec<ClaimedDelivery> {
        self.events
            .iter()
            .flat_map(|event| {
                self.endpoints
                    .iter()
                    .filter(move |endpoint| {
                        endpoint.application_id == event.application_id
                            && endpoint.enabled_since <= event.occurred_at
                            && endpoint.subscribes_to(event.event_type.as_str())
                    })
                    .map(move |endpoint| ClaimedDelivery {
                        delivery: WebhookDelivery {
                            id: WebhookDeliveryId::generate(),
                            application_id: event.application_id,
                            endpoint_id: endpoint.id,
                            message_id: event.id.as_uuid(),
                            event_id: Some(event.id),
                            message_type: event.event_type.as_str().to_owned(),
                            state: DeliveryState::Pending,
                            attempts_in_run: 0,
                            next_attempt_at: event.occurred_at,
                            created_at: event.occurred_at,
                            attempts: Vec::new(),
                        },
                        endpoint: endpoint.clone(),
                        event: Some(event.clone()),
                        lease: self.lease,
                    })
            })
            .collect()
    }
}

/// What the sender is asked to send: the message, signed with every key given.
pub struct OutgoingWebhook<'a> {
    pub url: &'a WebhookUrl,
    pub message_id: Uuid,
    pub message_type: &'a str,
    /// `None` for a test message.
    pub event: Option<&'a Event>,
    pub endpoint_id: WebhookEndpointId,
    /// `webhook-timestamp`: when this attempt is made.
    pub timestamp: DateTime<Utc>,
    /// The current secret's key first, then the previous one during a rotation's overlap.
    pub keys: Vec<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for OutgoingWebhook<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingWebhook")
            .field("message_id", &self.message_id)
            .field("message_type", &self.message_type)
            .field("endpoint_id", &self.endpoint_id)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// An attempt of a claimed delivery, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedAttempt {
    pub delivery: WebhookDeliveryId,
    pub attempt: WebhookAttempt,
    pub next: NextStep,
}

/// What a redelivery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requeued {
    /// Pending again, due now.
    Due(WebhookDelivery),
    /// Being sent: left to its claim.
    InFlight,
}

/// How a delivery stands after an attempt, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Done(DeliveryState),
    RetryAt(DateTime<Utc>),
}

/// How many deliveries wait, and since when, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookBacklog {
    pub pending: u64,
    pub oldest_created_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_type_a_noun_or_everything() {
        let all = EventTypePattern::parse("*").unwrap();
        let licenses = EventTypePattern::parse("license.*").unwrap();
        let one = EventTypePattern::parse("user.created").unwrap();
        assert!(all.matches("user.banned") && all.matches(TEST_MESSAGE_TYPE));
        assert!(licenses.matches("license.redeemed") && !licenses.matches("user.created"));
        assert!(one.matches("user.created") && !one.matches("user.deleted"));
        for bad in [
            "",
            "user",
            "users.*",
            "user.*.*",
            "**",
            "license.redeemed ",
            "x.*",
        ] {
            assert_eq!(
                EventTypePattern::parse(bad),
                Err(WebhookInputError::EventTypes),
                "{bad:?}"
            );
        }
        assert!(EventTypePattern::parse_all::<&str>(&[]).is_err());
        assert!(EventTypePattern::parse_all(&["*"; 33]).is_err());
        assert_eq!(EventTypePattern::parse_all(&["*"; 32]).unwrap().len(), 32);
    }

    #[test]
    fn urls_are_absolute_http_without_credentials() {
        assert!(WebhookUrl::parse("https://hooks.example.com/latchkey?x=1").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:8080/").is_ok());
        let long = format!("https://example.com/{}", "a".repeat(2048));
        let grows = format!("https://example.com/{}", "{".repeat(1000));
        for bad in [
            "ftp://example.com/",
            "/relative",
            "https://user:pw@example.com/",
            "mailto:a@example.com",
            "https://",
            long.as_str(),
            grows.as_str(),
        ] {
            assert_eq!(WebhookUrl::parse(bad), Err(WebhookInputError::Url), "{bad}");
        }
    }

    #[test]
    fn a_secret_is_whsec_and_32_bytes_and_reads_back_from_its_key() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret.key().len(), 32);
        assert_eq!(
            WebhookSecret::from_key(&secret.key()).expose(),
            secret.expose()
        );
        assert_ne!(WebhookSecret::generate().expose(), secret.expose());
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let key = BASE64
            .decode(secret.trim_start_matches("whsec_").as_bytes())
            .unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn retries_follow_the_schedule_with_ten_percent_jitter_then_stop() {
        let now = Utc::now();
        for (failures, delay) in (1..).zip(RETRY_DELAYS) {
            let at = retry_at(failures, now).unwrap();
            let waited = (at - now).num_milliseconds();
            let exact = delay.num_milliseconds();
            assert!((exact - exact / 10..=exact + exact / 10).contains(&waited));
        }
        assert_eq!(retry_at(8, now), None);
        assert_eq!(retry_at(0, now), None);
    }

    #[test]
    fn outcomes_follow_the_status() {
        assert_eq!(AttemptOutcome::of(Some(204)), AttemptOutcome::Succeeded);
        assert_eq!(AttemptOutcome::of(Some(410)), AttemptOutcome::Gone);
        assert_eq!(AttemptOutcome::of(Some(301)), AttemptOutcome::Failed);
        assert_eq!(AttemptOutcome::of(Some(500)), AttemptOutcome::Failed);
        assert_eq!(AttemptOutcome::of(None), AttemptOutcome::Failed);
    }

    #[test]
    fn new_events_go_to_subscribed_endpoints_of_their_application_that_were_on_when_they_occurred()
    {
        let now = Utc::now();
        let app = ApplicationId::generate();
        let endpoint = |patterns: &[&str], application_id, enabled_since| WebhookEndpoint {
            id: WebhookEndpointId::generate(),
            application_id,
            url: WebhookUrl::parse("https://hooks.example.com/").unwrap(),
            event_types: EventTypePattern::parse_all(patterns).unwrap(),
            enabled: true,
            description: String::new(),
            sealed_secret: Vec::new(),
            previous_secret: None,
            failing_since: None,
            disabled_reason: None,
            created_at: now - Duration::days(1),
            updated_at: now,
            enabled_since,
        };
        let all = endpoint(&["*"], app, now - Duration::days(1));
        let licenses = endpoint(&["license.*"], app, now - Duration::days(1));
        let turned_on_later = endpoint(&["*"], app, now + Duration::seconds(1));
        let elsewhere = endpoint(&["*"], ApplicationId::generate(), now - Duration::days(1));
        let event = crate::event::ChangedBy::system().event(
            app,
            EventType::UserCreated,
            crate::event::EventTarget {
                kind: "user".into(),
                id: Uuid::now_v7(),
            },
            now,
        );
        let new = NewEvents {
            lease: Uuid::now_v7(),
            events: vec![event.clone()],
            endpoints: vec![all.clone(), licenses, turned_on_later, elsewhere],
            through: FanOutPosition {
                commit_order: 1,
                event: event.id,
            },
        };
        let deliveries = new.deliveries();
        assert_eq!(deliveries.len(), 1);
        let claim = &deliveries[0];
        assert_eq!(claim.endpoint.id, all.id);
        assert_eq!(claim.delivery.message_id, event.id.as_uuid());
        assert_eq!(claim.delivery.event_id, Some(event.id));
        assert_eq!(claim.event.as_ref(), Some(&event));
        assert_eq!(claim.lease, new.lease);
        assert_eq!(claim.delivery.state, DeliveryState::Pending);
    }
}
