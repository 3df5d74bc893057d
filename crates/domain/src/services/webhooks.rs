//! Webhook endpoints (the admin API) and the dispatcher that delivers the committed events
//! (the outbox) and the deliveries due again.

use super::{Latchkey, events};
use crate::errors::WebhookError;
use crate::event::{ChangedBy, EventType};
use crate::page::{Page, PageRequest};
use crate::values::{ApplicationId, WebhookDeliveryId, WebhookEndpointId};
use crate::webhook::{
    AttemptOutcome, ClaimedDelivery, DISABLE_AFTER_FAILING, DeliveryState, DisabledReason,
    EventTypePattern, FanOutPosition, FanOutRound, FinishedAttempt, NextStep, OutgoingWebhook,
    PreviousSecret, Requeued, TakenEvents, WebhookAttempt, WebhookDelivery, WebhookEndpoint,
    WebhookEndpointChange, WebhookSecret, WebhookUrl, retry_at,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashSet};
use zeroize::Zeroizing;

/// A new endpoint, as the admin asks for it.
#[derive(Debug, Clone)]
pub struct NewWebhookEndpoint {
    pub url: WebhookUrl,
    pub event_types: Vec<EventTypePattern>,
    pub enabled: bool,
    pub description: String,
}

/// An endpoint with its new secret, shown once.
#[derive(Debug)]
pub struct EndpointWithSecret {
    pub endpoint: WebhookEndpoint,
    pub secret: WebhookSecret,
}

/// The webhook calls of the admin API, within one application.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WebhookApi: Send + Sync {
    async fn create_webhook(
        &self,
        app: ApplicationId,
        new: NewWebhookEndpoint,
        by: &ChangedBy,
    ) -> Result<EndpointWithSecret, WebhookError>;
    /// Newest first.
    async fn list_webhooks(
        &self,
        app: ApplicationId,
        page: PageRequest,
    ) -> anyhow::Result<Page<WebhookEndpoint>>;
    async fn get_webhook(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> Result<WebhookEndpoint, WebhookError>;
    /// Enabling an endpoint the server disabled clears why, and its run of failures.
    async fn update_webhook(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
        change: WebhookEndpointChange,
        by: &ChangedBy,
    ) -> Result<WebhookEndpoint, WebhookError>;
    async fn delete_webhook(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
        by: &ChangedBy,
    ) -> Result<(), WebhookError>;
    /// A new secret; the old one keeps signing (both signatures are sent) for
    /// `old_valid_for`.
    async fn rotate_webhook_secret(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
        old_valid_for: chrono::Duration,
        by: &ChangedBy,
    ) -> Result<EndpointWithSecret, WebhookError>;
    /// Newest first, each with its attempts.
    async fn list_deliveries(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<WebhookDelivery>, WebhookError>;
    /// Sends a delivery again, with the same `webhook-id`.
    async fn redeliver(
        &self,
        app: ApplicationId,
        endpoint: WebhookEndpointId,
        delivery: WebhookDeliveryId,
    ) -> Result<WebhookDelivery, WebhookError>;
    /// Queues a test message for the endpoint.
    async fn send_test_webhook(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> Result<WebhookDelivery, WebhookError>;
}

impl Latchkey {
    async fn check_target(&self, url: &WebhookUrl) -> Result<(), WebhookError> {
        self.ports
            .webhook_sender
            .check_target(url)
            .await
            .map_err(WebhookError::TargetRefused)
    }

    fn seal_webhook_secret(
        &self,
        endpoint: WebhookEndpointId,
        secret: &WebhookSecret,
    ) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .master_key
            .seal(&WebhookSecret::purpose(endpoint), &secret.key())?)
    }

    /// The keys a delivery is signed with at `now`: the current one, then the previous one
    /// while its overlap lasts.
    fn webhook_keys(
        &self,
        endpoint: &WebhookEndpoint,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Zeroizing<Vec<u8>>>> {
        let purpose = WebhookSecret::purpose(endpoint.id);
        let previous = endpoint
            .previous_secret
            .as_ref()
            .filter(|previous| previous.expires_at > now);
        std::iter::once(&endpoint.sealed_secret)
            .chain(previous.map(|previous| &previous.sealed))
            .map(|sealed| Ok(self.master_key.open(&purpose, sealed)?))
            .collect()
    }

    /// Locks the endpoint, lets `change` edit it, stores it with the event `change` names.
    async fn change_endpoint(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
        by: &ChangedBy,
        change: impl FnOnce(&mut WebhookEndpoint) -> Result<EventType, WebhookError> + Send,
    ) -> Result<WebhookEndpoint, WebhookError> {
        let mut tx = self.ports.unit_of_work.begin().await?;
        let mut endpoint = tx
            .lock_webhook_endpoint(app, id)
            .await?
            .ok_or(WebhookError::UnknownEndpoint)?;
        let was_enabled = endpoint.enabled;
        let event_type = change(&mut endpoint)?;
        endpoint.updated_at = self.ports.clock.now();
        if endpoint.enabled && !was_enabled {
            endpoint.enabled_since = endpoint.updated_at;
        }
        tx.update_webhook_endpoint(&endpoint).await?;
        let event = events::webhook_endpoint(event_type, &endpoint, by, endpoint.updated_at);
        tx.record_events(&[event]).await?;
        tx.commit().await?;
        Ok(endpoint)
    }

    /// Reseals under the current master key every webhook secret only the previous one
    /// opens (during a master-key rotation), as the signing keys are at start; how many
    /// endpoints changed. A previous secret whose overlap has ended is left as it is.
    ///
    /// # Errors
    /// When the store fails, or a secret opens under neither master key; endpoints done
    /// until then keep their change.
    pub async fn reseal_webhook_secrets(&self) -> anyhow::Result<u64> {
        let mut changed = 0;
        let mut page = PageRequest::new(None, PageRequest::MAX_LIMIT)?;
        loop {
            let endpoints = self.ports.webhooks.list_all_endpoints(&page).await?;
            for endpoint in &endpoints.items {
                if self.resealed(endpoint)?.is_none() {
                    continue;
                }
                // Again on the row as locked: it may have been rotated since it was listed.
                let mut tx = self.ports.unit_of_work.begin().await?;
                let locked = tx
                    .lock_webhook_endpoint(endpoint.application_id, endpoint.id)
                    .await?;
                let resealed = locked.map(|locked| self.resealed(&locked)).transpose()?;
                let Some(resealed) = resealed.flatten() else {
                    continue;
                };
                tx.update_webhook_endpoint(&resealed).await?;
                tx.commit().await?;
                changed += 1;
            }
            let Some(next) = endpoints.next else {
                return Ok(changed);
            };
            page = PageRequest::new(Some(next), PageRequest::MAX_LIMIT)?;
        }
    }

    /// The endpoint with its secrets sealed under the current master key, when that differs
    /// from how they are.
    fn resealed(&self, endpoint: &WebhookEndpoint) -> anyhow::Result<Option<WebhookEndpoint>> {
        let purpose = WebhookSecret::purpose(endpoint.id);
        let reseal = |sealed: &[u8]| {
            self.master_key.reseal(&purpose, sealed).map_err(|error| {
                anyhow::anyhow!(
                    "webhook endpoint {}: {error}; start with the master key it was sealed \
                     under as secrets.master_key or secrets.previous_master_key",
                    endpoint.id
                )
            })
        };
        let now = self.ports.clock.now();
        let mut resealed = endpoint.clone();
        let mut changed = false;
        if let Some(sealed) = reseal(&endpoint.sealed_secret)? {
            resealed.sealed_secret = sealed;
            changed = true;
        }
        if let Some(previous) = resealed
            .previous_secret
            .as_mut()
            .filter(|previous| previous.expires_at > now)
            && let Some(sealed) = reseal(&previous.sealed)?
        {
            previous.sealed = sealed;
            changed = true;
        }
        Ok(changed.then_some(resealed))
    }

    /// Sends the deliveries of up to `batch` events committed since the dispatcher's
    /// position, taken until `now + lease`, concurrently, and records them with their
    /// attempts and the new position in one transaction. The caller loops on it while it
    /// takes full batches, and comes back soon when it answers [`FanOutRound::NotYet`].
    ///
    /// # Errors
    /// When the store fails; an attempt that fails is an outcome, not an error.
    pub async fn deliver_new_events(
        &self,
        lease: chrono::Duration,
        batch: u64,
    ) -> anyhow::Result<FanOutRound> {
        let now = self.ports.clock.now();
        let new = match self
            .ports
            .webhooks
            .take_new_events(now, now + lease, batch)
            .await?
        {
            TakenEvents::Nothing => return Ok(FanOutRound::Nothing),
            TakenEvents::NotYet => return Ok(FanOutRound::NotYet),
            TakenEvents::Taken(new) => new,
        };
        let claimed = new.deliveries();
        let finished = self.attempt_all(&claimed).await;
        let recording = Recording::FannedOut {
            lease: new.lease,
            through: new.through,
        };
        self.record_attempts(recording, &claimed, &finished).await?;
        Ok(FanOutRound::Delivered {
            events: new.events.len() as u64,
            outcomes: finished.iter().map(|done| done.attempt.outcome).collect(),
        })
    }

    /// Sends up to `batch` due deliveries (retries, redeliveries, test messages), claimed
    /// until `now + lease`, concurrently, and records their attempts in one transaction; how
    /// each attempt ended. The caller loops on it.
    ///
    /// # Errors
    /// When the store fails; an attempt that fails is an outcome, not an error.
    pub async fn deliver_due_webhooks(
        &self,
        lease: chrono::Duration,
        batch: u64,
    ) -> anyhow::Result<Vec<AttemptOutcome>> {
        let now = self.ports.clock.now();
        let claimed = self
            .ports
            .webhooks
            .claim_due(now, now + lease, batch)
            .await?;
        let Some(lease) = claimed.first().map(|claim| claim.lease) else {
            return Ok(Vec::new());
        };
        let finished = self.attempt_all(&claimed).await;
        self.record_attempts(Recording::Claimed { lease }, &claimed, &finished)
            .await?;
        Ok(finished.iter().map(|done| done.attempt.outcome).collect())
    }

    /// One attempt of each delivery, all at once.
    async fn attempt_all(&self, claimed: &[ClaimedDelivery]) -> Vec<FinishedAttempt> {
        let attempts =
            futures_util::future::join_all(claimed.iter().map(|claim| self.attempt(claim))).await;
        claimed
            .iter()
            .zip(attempts)
            .map(|(claim, (attempt, next))| FinishedAttempt {
                delivery: claim.delivery.id,
                attempt,
                next,
            })
            .collect()
    }

    /// One attempt of a claimed delivery, and where the delivery stands after it.
    async fn attempt(&self, claim: &ClaimedDelivery) -> (WebhookAttempt, NextStep) {
        let now = self.ports.clock.now();
        let failed = |error: &str| WebhookAttempt {
            attempted_at: now,
            status: None,
            duration_ms: 0,
            response: String::new(),
            error: Some(error.to_owned()),
            outcome: AttemptOutcome::Failed,
        };
        if event_purged(claim) {
            let attempt = failed("the event is gone: the audit retention purged it");
            return (attempt, NextStep::Done(DeliveryState::Failed));
        }
        let attempt = match self.webhook_keys(&claim.endpoint, now) {
            Ok(keys) => {
                let outgoing = OutgoingWebhook {
                    url: &claim.endpoint.url,
                    message_id: claim.delivery.message_id,
                    message_type: &claim.delivery.message_type,
                    event: claim.event.as_ref(),
                    endpoint_id: claim.endpoint.id,
                    timestamp: now,
                    keys,
                };
                self.ports.webhook_sender.send(&outgoing).await
            }
            Err(error) => {
                // Retried like any failure: it sends once the right master key is configured.
                tracing::error!(
                    endpoint = %claim.endpoint.id,
                    error = format!("{error:#}"),
                    "a webhook secret does not open under the master key"
                );
                failed("the endpoint's secret does not open under this server's master key")
            }
        };
        let next = match attempt.outcome {
            AttemptOutcome::Succeeded => NextStep::Done(DeliveryState::Succeeded),
            AttemptOutcome::Gone => NextStep::Done(DeliveryState::Failed),
            AttemptOutcome::Failed => retry_at(claim.delivery.attempts_in_run + 1, now)
                .map_or(NextStep::Done(DeliveryState::Failed), NextStep::RetryAt),
        };
        (attempt, next)
    }

    /// Records a claim's attempts, and what they tell of their endpoints' health, in one
    /// transaction. Endpoints whose health changes are locked first, in id order, as every
    /// writer of an endpoint and its deliveries does, so none waits on another in a cycle.
    async fn record_attempts(
        &self,
        recording: Recording,
        claimed: &[ClaimedDelivery],
        finished: &[FinishedAttempt],
    ) -> anyhow::Result<()> {
        let mut health: BTreeMap<WebhookEndpointId, (ApplicationId, Vec<&FinishedAttempt>)> =
            BTreeMap::new();
        for (claim, done) in claimed.iter().zip(finished) {
            let outcome = done.attempt.outcome;
            if !event_purged(claim)
                && health_changes(&claim.endpoint, outcome, done.attempt.attempted_at)
            {
                let entry = health
                    .entry(claim.endpoint.id)
                    .or_insert_with(|| (claim.endpoint.application_id, Vec::new()));
                entry.1.push(done);
            }
        }
        let mut tx = self.ports.unit_of_work.begin().await?;
        let mut locked = Vec::new();
        for (id, (app, _)) in &health {
            locked.extend(tx.lock_webhook_endpoint(*app, *id).await?);
        }
        let recorded: HashSet<_> = match recording {
            Recording::Claimed { lease } => tx
                .finish_attempts(lease, finished)
                .await?
                .into_iter()
                .collect(),
            Recording::FannedOut { lease, through } => {
                let deliveries: Vec<WebhookDelivery> = claimed
                    .iter()
                    .zip(finished)
                    .map(|(claim, done)| after_attempt(claim.delivery.clone(), done))
                    .collect();
                if tx.record_fan_out(lease, through, &deliveries).await? {
                    deliveries.iter().map(|delivery| delivery.id).collect()
                } else {
                    HashSet::new()
                }
            }
        };
        if recorded.len() < finished.len() {
            tracing::warn!(
                lost = finished.len() - recorded.len(),
                "deliveries' leases ran out before their attempts were recorded"
            );
        }
        for mut endpoint in locked {
            let outcomes = health.get(&endpoint.id).map(|(_, done)| done.as_slice());
            let outcomes = outcomes
                .unwrap_or_default()
                .iter()
                .filter(|done| recorded.contains(&done.delivery));
            let mut disabled_at = None;
            let mut seen_any = false;
            for done in outcomes {
                seen_any = true;
                let at = done.attempt.attempted_at;
                if apply_outcome(&mut endpoint, done.attempt.outcome, at) {
                    disabled_at = Some(at);
                }
            }
            if !seen_any {
                continue;
            }
            tx.update_webhook_endpoint(&endpoint).await?;
            if let Some(at) = disabled_at {
                let event = events::webhook_endpoint(
                    EventType::WebhookEndpointDisabled,
                    &endpoint,
                    &ChangedBy::system(),
                    at,
                );
                tx.record_events(&[event]).await?;
            }
        }
        tx.commit().await
    }
}

/// How a batch's attempts are stored: over the rows of the deliveries a claim holds, or as
/// the new deliveries of the events the dispatcher took, moving its position past them.
#[derive(Debug, Clone, Copy)]
enum Recording {
    Claimed {
        lease: uuid::Uuid,
    },
    FannedOut {
        lease: uuid::Uuid,
        through: FanOutPosition,
    },
}

/// A delivery as its first attempt leaves it: done, or pending its retry.
fn after_attempt(mut delivery: WebhookDelivery, done: &FinishedAttempt) -> WebhookDelivery {
    delivery.attempts_in_run += 1;
    match done.next {
        NextStep::Done(state) => delivery.state = state,
        NextStep::RetryAt(at) => {
            delivery.state = DeliveryState::Pending;
            delivery.next_attempt_at = at;
        }
    }
    delivery.attempts = vec![done.attempt.clone()];
    delivery
}

/// A delivery whose event the audit retention purged before it was sent.
fn event_purged(claim: &ClaimedDelivery) -> bool {
    claim.delivery.event_id.is_some() && claim.event.is_none()
}

/// Whether an attempt's outcome changes what the endpoint stores (its run of failures, or
/// whether it is on): [`apply_outcome`] is the one statement of the rules.
fn health_changes(seen: &WebhookEndpoint, outcome: AttemptOutcome, at: DateTime<Utc>) -> bool {
    let mut after = seen.clone();
    apply_outcome(&mut after, outcome, at);
    after != *seen
}

/// Applies an attempt's outcome to the endpoint: a success ends its run of failures, a
/// failure starts or extends it, and `410 Gone` or [`DISABLE_AFTER_FAILING`] of failures
/// turn it off. `true` when it turned it off.
fn apply_outcome(
    endpoint: &mut WebhookEndpoint,
    outcome: AttemptOutcome,
    at: DateTime<Utc>,
) -> bool {
    let reason = match outcome {
        AttemptOutcome::Succeeded => {
            endpoint.failing_since = None;
            None
        }
        AttemptOutcome::Gone => Some(DisabledReason::Gone),
        AttemptOutcome::Failed => {
            let since = *endpoint.failing_since.get_or_insert(at);
            (at - since >= DISABLE_AFTER_FAILING).then_some(DisabledReason::Failing)
        }
    };
    match reason.filter(|_| endpoint.enabled) {
        Some(reason) => {
            endpoint.enabled = false;
            endpoint.disabled_reason = Some(reason);
            endpoint.updated_at = at;
            true
        }
        None => false,
    }
}

#[async_trait]
impl WebhookApi for Latchkey {
    async fn create_webhook(
        &self,
        app: ApplicationId,
        new: NewWebhookEndpoint,
        by: &ChangedBy,
    ) -> Result<EndpointWithSecret, WebhookError> {
        self.check_target(&new.url).await?;
        let id = WebhookEndpointId::generate();
        let secret = WebhookSecret::generate();
        let now = self.ports.clock.now();
        let endpoint = WebhookEndpoint {
            id,
            application_id: app,
            url: new.url,
            event_types: new.event_types,
            enabled: new.enabled,
            description: new.description,
            sealed_secret: self.seal_webhook_secret(id, &secret)?,
            previous_secret: None,
            failing_since: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            enabled_since: now,
        };
        let mut tx = self.ports.unit_of_work.begin().await?;
        tx.insert_webhook_endpoint(&endpoint).await?;
        let event = events::webhook_endpoint(EventType::WebhookEndpointCreated, &endpoint, by, now);
        tx.record_events(&[event]).await?;
        tx.commit().await?;
        Ok(EndpointWithSecret { endpoint, secret })
    }

    async fn list_webhooks(
        &self,
        app: ApplicationId,
        page: PageRequest,
    ) -> anyhow::Result<Page<WebhookEndpoint>> {
        self.ports.webhooks.list_endpoints(app, &page).await
    }

    async fn get_webhook(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> Result<WebhookEndpoint, WebhookError> {
        self.ports
            .webhooks
            .get_endpoint(app, id)
            .await?
            .ok_or(WebhookError::UnknownEndpoint)
    }

    async fn update_webhook(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
        change: WebhookEndpointChange,
        by: &ChangedBy,
    ) -> Result<WebhookEndpoint, WebhookError> {
        if let Some(url) = &change.url {
            self.check_target(url).await?;
        }
        self.change_endpoint(app, id, by, move |endpoint| {
            if let Some(url) = change.url {
                endpoint.url = url;
            }
            if let Some(event_types) = change.event_types {
                endpoint.event_types = event_types;
            }
            if let Some(description) = change.description {
                endpoint.description = description;
            }
            if let Some(enabled) = change.enabled {
                if enabled && !endpoint.enabled {
                    endpoint.disabled_reason = None;
                    endpoint.failing_since = None;
                }
                endpoint.enabled = enabled;
            }
            Ok(EventType::WebhookEndpointUpdated)
        })
        .await
    }

    async fn delete_webhook(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
        by: &ChangedBy,
    ) -> Result<(), WebhookError> {
        let mut tx = self.ports.unit_of_work.begin().await?;
        let endpoint = tx
            .lock_webhook_endpoint(app, id)
            .await?
            .ok_or(WebhookError::UnknownEndpoint)?;
        tx.delete_webhook_endpoint(app, id).await?;
        let now = self.ports.clock.now();
        let event = events::webhook_endpoint(EventType::WebhookEndpointDeleted, &endpoint, by, now);
        tx.record_events(&[event]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_webhook_secret(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
        old_valid_for: chrono::Duration,
        by: &ChangedBy,
    ) -> Result<EndpointWithSecret, WebhookError> {
        let secret = WebhookSecret::generate();
        let sealed = self.seal_webhook_secret(id, &secret)?;
        let now = self.ports.clock.now();
        let endpoint = self
            .change_endpoint(app, id, by, move |endpoint| {
                let old = std::mem::replace(&mut endpoint.sealed_secret, sealed);
                endpoint.previous_secret =
                    (old_valid_for > chrono::Duration::zero()).then(|| PreviousSecret {
                        sealed: old,
                        expires_at: now + old_valid_for,
                    });
                Ok(EventType::WebhookEndpointSecretRotated)
            })
            .await?;
        Ok(EndpointWithSecret { endpoint, secret })
    }

    async fn list_deliveries(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<WebhookDelivery>, WebhookError> {
        self.get_webhook(app, id).await?;
        Ok(self.ports.webhooks.list_deliveries(app, id, &page).await?)
    }

    async fn redeliver(
        &self,
        app: ApplicationId,
        endpoint: WebhookEndpointId,
        delivery: WebhookDeliveryId,
    ) -> Result<WebhookDelivery, WebhookError> {
        let now = self.ports.clock.now();
        let mut tx = self.ports.unit_of_work.begin().await?;
        let requeued = tx
            .requeue_delivery(app, endpoint, delivery, now)
            .await?
            .ok_or(WebhookError::UnknownDelivery)?;
        match requeued {
            Requeued::Due(delivery) => {
                tx.commit().await?;
                Ok(delivery)
            }
            Requeued::InFlight => Err(WebhookError::DeliveryInFlight),
        }
    }

    async fn send_test_webhook(
        &self,
        app: ApplicationId,
        id: WebhookEndpointId,
    ) -> Result<WebhookDelivery, WebhookError> {
        let endpoint = self.get_webhook(app, id).await?;
        let delivery = WebhookDelivery::test(&endpoint, self.ports.clock.now());
        let mut tx = self.ports.unit_of_work.begin().await?;
        tx.insert_delivery(&delivery).await?;
        tx.commit().await?;
        Ok(delivery)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Actor;
    use crate::ports::MockTransaction;
    use crate::services::test_support::{Mocks, application, fixed_now};
    use crate::webhook::{NewEvents, RETRY_DELAYS, WebhookAttempt, WebhookDelivery};
    use uuid::Uuid;

    fn endpoint(failing_since: Option<DateTime<Utc>>) -> WebhookEndpoint {
        let id = WebhookEndpointId::generate();
        let secret = WebhookSecret::generate();
        WebhookEndpoint {
            id,
            application_id: application(false).id,
            url: WebhookUrl::parse("https://hooks.example.com/latchkey").unwrap(),
            event_types: EventTypePattern::parse_all(&["*"]).unwrap(),
            enabled: true,
            description: String::new(),
            sealed_secret: crate::application::master()
                .seal(&WebhookSecret::purpose(id), &secret.key())
                .unwrap(),
            previous_secret: None,
            failing_since,
            disabled_reason: None,
            created_at: fixed_now(),
            updated_at: fixed_now(),
            enabled_since: fixed_now(),
        }
    }

    fn claimed(endpoint: &WebhookEndpoint, attempts_in_run: u32) -> ClaimedDelivery {
        let mut delivery = WebhookDelivery::test(endpoint, fixed_now());
        delivery.attempts_in_run = attempts_in_run;
        ClaimedDelivery {
            delivery,
            endpoint: endpoint.clone(),
            event: None,
            lease: Uuid::now_v7(),
        }
    }

    /// One claimed delivery, whose attempt the target answers with `status`.
    fn mocks_sending(claim: ClaimedDelivery, status: u16) -> Mocks {
        let mut mocks = Mocks::default();
        mocks
            .webhooks
            .expect_claim_due()
            .times(1)
            .return_once(move |_, _, _| Ok(vec![claim]));
        mocks
            .webhook_sender
            .expect_send()
            .withf(|webhook| webhook.keys.len() == 1 && webhook.timestamp == fixed_now())
            .times(1)
            .returning(move |_| WebhookAttempt {
                attempted_at: fixed_now(),
                status: Some(status),
                duration_ms: 3,
                response: String::new(),
                error: None,
                outcome: AttemptOutcome::of(Some(status)),
            });
        mocks
    }

    /// Expects the claim's one attempt recorded, as `check` wants it, and recorded.
    fn expect_finished(
        tx: &mut MockTransaction,
        check: impl Fn(&FinishedAttempt) -> bool + Send + 'static,
    ) {
        tx.expect_finish_attempts()
            .withf(move |_, finished| finished.len() == 1 && check(&finished[0]))
            .times(1)
            .returning(|_, finished| Ok(vec![finished[0].delivery]));
    }

    /// Expects the endpoint locked once, as `endpoint` is.
    fn expect_locked(tx: &mut MockTransaction, endpoint: &WebhookEndpoint) {
        let locked = endpoint.clone();
        tx.expect_lock_webhook_endpoint()
            .times(1)
            .return_once(move |_, _| Ok(Some(locked)));
    }

    async fn deliver(mocks: Mocks) -> Vec<AttemptOutcome> {
        mocks
            .service()
            .deliver_due_webhooks(chrono::Duration::seconds(60), 16)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_410_fails_the_delivery_and_disables_the_endpoint_as_the_system() {
        let endpoint = endpoint(None);
        let mut mocks = mocks_sending(claimed(&endpoint, 0), 410);
        let mut tx = MockTransaction::new();
        expect_finished(&mut tx, |done| {
            done.attempt.status == Some(410) && done.next == NextStep::Done(DeliveryState::Failed)
        });
        expect_locked(&mut tx, &endpoint);
        tx.expect_update_webhook_endpoint()
            .withf(|stored| !stored.enabled && stored.disabled_reason == Some(DisabledReason::Gone))
            .times(1)
            .returning(|_| Ok(()));
        tx.expect_record_events()
            .withf(|events| {
                events.len() == 1
                    && events[0].event_type == EventType::WebhookEndpointDisabled
                    && events[0].actor == Actor::System
                    && events[0].context.is_none()
            })
            .times(1)
            .returning(|_| Ok(()));
        tx.expect_commit().times(1).returning(|| Ok(()));
        mocks.expect_transaction(tx);
        assert_eq!(deliver(mocks).await, [AttemptOutcome::Gone]);
    }

    #[tokio::test]
    async fn a_failure_is_retried_on_schedule_and_five_days_of_failures_disable() {
        let endpoint = endpoint(Some(fixed_now() - DISABLE_AFTER_FAILING));
        let mut mocks = mocks_sending(claimed(&endpoint, 0), 500);
        let mut tx = MockTransaction::new();
        expect_finished(&mut tx, |done| {
            let first = RETRY_DELAYS[0].num_milliseconds();
            matches!(done.next, NextStep::RetryAt(at)
                if ((at - fixed_now()).num_milliseconds() - first).abs() <= first / 10)
        });
        expect_locked(&mut tx, &endpoint);
        tx.expect_update_webhook_endpoint()
            .withf(|stored| {
                !stored.enabled && stored.disabled_reason == Some(DisabledReason::Failing)
            })
            .times(1)
            .returning(|_| Ok(()));
        tx.expect_record_events().times(1).returning(|_| Ok(()));
        tx.expect_commit().times(1).returning(|| Ok(()));
        mocks.expect_transaction(tx);
        assert_eq!(deliver(mocks).await, [AttemptOutcome::Failed]);
    }

    #[tokio::test]
    async fn the_eighth_failure_fails_the_delivery_and_a_recent_run_leaves_the_endpoint_be() {
        let endpoint = endpoint(Some(fixed_now() - chrono::Duration::hours(1)));
        let mut mocks = mocks_sending(claimed(&endpoint, 7), 503);
        let mut tx = MockTransaction::new();
        expect_finished(&mut tx, |done| {
            done.next == NextStep::Done(DeliveryState::Failed)
        });
        tx.expect_commit().times(1).returning(|| Ok(()));
        mocks.expect_transaction(tx);
        assert_eq!(deliver(mocks).await, [AttemptOutcome::Failed]);
    }

    #[tokio::test]
    async fn a_success_ends_the_run_of_failures() {
        let endpoint = endpoint(Some(fixed_now() - chrono::Duration::hours(1)));
        let mut mocks = mocks_sending(claimed(&endpoint, 2), 200);
        let mut tx = MockTransaction::new();
        expect_finished(&mut tx, |done| {
            done.next == NextStep::Done(DeliveryState::Succeeded)
        });
        expect_locked(&mut tx, &endpoint);
        tx.expect_update_webhook_endpoint()
            .withf(|stored| stored.enabled && stored.failing_since.is_none())
            .times(1)
            .returning(|_| Ok(()));
        tx.expect_commit().times(1).returning(|| Ok(()));
        mocks.expect_transaction(tx);
        assert_eq!(deliver(mocks).await, [AttemptOutcome::Succeeded]);
    }

    #[tokio::test]
    async fn a_lost_lease_records_nothing_more() {
        let endpoint = endpoint(None);
        let mut mocks = mocks_sending(claimed(&endpoint, 0), 410);
        let mut tx = MockTransaction::new();
        expect_locked(&mut tx, &endpoint);
        tx.expect_finish_attempts()
            .times(1)
            .returning(|_, _| Ok(Vec::new()));
        tx.expect_commit().times(1).returning(|| Ok(()));
        mocks.expect_transaction(tx);
        assert_eq!(deliver(mocks).await, [AttemptOutcome::Gone]);
    }

    #[tokio::test]
    async fn a_refused_target_stores_nothing() {
        let mut mocks = Mocks::default();
        mocks
            .webhook_sender
            .expect_check_target()
            .times(1)
            .returning(|_| Err("private".to_owned()));
        let new = NewWebhookEndpoint {
            url: WebhookUrl::parse("http://10.0.0.1/").unwrap(),
            event_types: EventTypePattern::parse_all(&["*"]).unwrap(),
            enabled: true,
            description: String::new(),
        };
        let by = ChangedBy {
            actor: Actor::Operator,
            context: None,
        };
        let refused = mocks
            .service()
            .create_webhook(application(false).id, new, &by)
            .await;
        assert!(matches!(refused, Err(WebhookError::TargetRefused(why)) if why == "private"));
    }

    /// `count` user.created events of the endpoint's application, taken with the endpoint.
    fn new_events(endpoint: &WebhookEndpoint, count: usize) -> NewEvents {
        let events: Vec<_> = (0..count)
            .map(|_| {
                ChangedBy::system().event(
                    endpoint.application_id,
                    EventType::UserCreated,
                    crate::event::EventTarget {
                        kind: "user".into(),
                        id: Uuid::now_v7(),
                    },
                    fixed_now(),
                )
            })
            .collect();
        let last = events.last().map(|event| event.id).unwrap();
        NewEvents {
            lease: Uuid::now_v7(),
            events,
            endpoints: vec![endpoint.clone()],
            through: FanOutPosition {
                commit_order: 7,
                event: last,
            },
        }
    }

    /// `new` taken, and each of its deliveries' attempts answered with `status`.
    fn mocks_taking(new: &NewEvents, status: u16) -> Mocks {
        let mut mocks = Mocks::default();
        let taken = new.clone();
        mocks
            .webhooks
            .expect_take_new_events()
            .times(1)
            .return_once(move |_, _, _| Ok(TakenEvents::Taken(taken)));
        mocks
            .webhook_sender
            .expect_send()
            .times(new.events.len())
            .returning(move |_| WebhookAttempt {
                attempted_at: fixed_now(),
                status: Some(status),
                duration_ms: 3,
                response: String::new(),
                error: None,
                outcome: AttemptOutcome::of(Some(status)),
            });
        mocks
    }

    async fn fan_out(mocks: Mocks) -> FanOutRound {
        mocks
            .service()
            .deliver_new_events(chrono::Duration::seconds(60), 16)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn new_events_are_sent_and_recorded_with_the_position_in_one_transaction() {
        let endpoint = endpoint(None);
        let new = new_events(&endpoint, 2);
        let mut mocks = mocks_taking(&new, 200);
        let mut tx = MockTransaction::new();
        let (lease, through) = (new.lease, new.through);
        let ids: Vec<Uuid> = new.events.iter().map(|event| event.id.as_uuid()).collect();
        tx.expect_record_fan_out()
            .withf(move |at_lease, at, deliveries| {
                *at_lease == lease
                    && *at == through
                    && deliveries.iter().map(|d| d.message_id).collect::<Vec<_>>() == ids
                    && deliveries.iter().all(|delivery| {
                        delivery.state == DeliveryState::Succeeded
                            && delivery.attempts_in_run == 1
                            && delivery.attempts.len() == 1
                    })
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        tx.expect_commit().times(1).returning(|| Ok(()));
        mocks.expect_transaction(tx);
        assert_eq!(
            fan_out(mocks).await,
            FanOutRound::Delivered {
                events: 2,
                outcomes: vec![AttemptOutcome::Succeeded; 2]
            }
        );
    }

    #[tokio::test]
    async fn a_failed_first_attempt_is_recorded_pending_its_retry_and_starts_a_run_of_failures() {
        let endpoint = endpoint(None);
        let new = new_events(&endpoint, 1);
        let mut mocks = mocks_taking(&new, 500);
        let mut tx = MockTransaction::new();
        expect_locked(&mut tx, &endpoint);
        tx.expect_record_fan_out()
            .withf(|_, _, deliveries| {
                let first = RETRY_DELAYS[0].num_milliseconds();
                let delivery = &deliveries[0];
                delivery.state == DeliveryState::Pending
                    && ((delivery.next_attempt_at - fixed_now()).num_milliseconds() - first).abs()
                        <= first / 10
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        tx.expect_update_webhook_endpoint()
            .withf(|stored| stored.enabled && stored.failing_since == Some(fixed_now()))
            .times(1)
            .returning(|_| Ok(()));
        tx.expect_commit().times(1).returning(|| Ok(()));
        mocks.expect_transaction(tx);
        assert!(matches!(
            fan_out(mocks).await,
            FanOutRound::Delivered { events: 1, .. }
        ));
    }

    #[tokio::test]
    async fn a_lost_lease_on_new_events_records_nothing_and_changes_no_endpoint() {
        let endpoint = endpoint(None);
        let new = new_events(&endpoint, 1);
        let mut mocks = mocks_taking(&new, 410);
        let mut tx = MockTransaction::new();
        expect_locked(&mut tx, &endpoint);
        tx.expect_record_fan_out()
            .times(1)
            .returning(|_, _, _| Ok(false));
        tx.expect_update_webhook_endpoint().times(0);
        tx.expect_record_events().times(0);
        tx.expect_commit().times(1).returning(|| Ok(()));
        mocks.expect_transaction(tx);
        assert!(matches!(
            fan_out(mocks).await,
            FanOutRound::Delivered { events: 1, .. }
        ));
    }

    #[tokio::test]
    async fn nothing_new_or_not_yet_sends_nothing() {
        for (taken, round) in [
            (TakenEvents::Nothing, FanOutRound::Nothing),
            (TakenEvents::NotYet, FanOutRound::NotYet),
        ] {
            let mut mocks = Mocks::default();
            mocks
                .webhooks
                .expect_take_new_events()
                .times(1)
                .return_once(move |_, _, _| Ok(taken));
            mocks.webhook_sender.expect_send().times(0);
            assert_eq!(fan_out(mocks).await, round);
        }
    }
}
