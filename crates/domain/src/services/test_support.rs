//! Mocked ports for the use-case tests: each test sets only the expectations its rule needs,
//! so any other store call fails the test.

use super::{Latchkey, Ports};
use crate::application::{Application, ApplicationName};
use crate::event::{Actor, EventType};
use crate::license::{License, LicenseDuration};
use crate::ports::{
    MockApplicationStore, MockBanStore, MockClock, MockDeviceStore, MockEventStore, MockFileStore,
    MockLicenseStore, MockNonceStore, MockPasswordHasher, MockSessionStore, MockTransaction,
    MockUnitOfWork, MockUserStore, MockUserVariableStore, MockVariableStore, MockWebhookSender,
    MockWebhookStore,
};
use crate::user::{Credential, Membership, NewUser, User};
use crate::values::{ApplicationId, ClientIp, Digest, LicenseId};
use chrono::{DateTime, TimeZone, Utc};
use std::sync::Arc;

pub(crate) fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

pub(crate) fn application(device_authentication: bool) -> Application {
    Application {
        id: ApplicationId::generate(),
        name: ApplicationName::parse("Test App").unwrap(),
        device_authentication,
        api_key: "lk_app_key".to_owned(),
        api_secret_digest: Digest::of("lk_sec_secret"),
        admin_api_key_digest: Digest::of("lk_adm_admin"),
        // Off here so each test sets only the ban checks its rule needs; see `bans.rs`.
        settings: crate::application::ApplicationSettings {
            cross_banning: false,
            ..crate::application::ApplicationSettings::default()
        },
        previous_api_secret: None,
        previous_admin_api_key: None,
        response_signing_keys: None,
        request_signing_keys: None,
        sealed_files_key: None,
        created_at: fixed_now(),
    }
}

pub(crate) fn ip() -> ClientIp {
    ClientIp::parse("203.0.113.7").unwrap()
}

pub(crate) fn unused_license(duration: LicenseDuration) -> License {
    License {
        id: LicenseId::generate(),
        duration,
        activated_at: None,
        activated_by: None,
        created_at: fixed_now(),
    }
}

/// What a store returns for a user it was asked to create.
pub(crate) fn stored(user: &NewUser) -> User {
    user.created()
}

pub(crate) fn password_user() -> User {
    User {
        id: crate::values::UserId::generate(),
        username: "john_doe".to_owned(),
        credential: Credential::LicenseCode,
        membership: Membership::default(),
        signup_ip: None,
        last_ip: None,
        device_limit: None,
        session_limit: None,
        created_at: fixed_now(),
    }
}

#[derive(Default)]
pub(crate) struct Mocks {
    pub applications: MockApplicationStore,
    pub users: MockUserStore,
    pub licenses: MockLicenseStore,
    pub devices: MockDeviceStore,
    pub bans: MockBanStore,
    pub events: MockEventStore,
    pub sessions: MockSessionStore,
    pub variables: MockVariableStore,
    pub user_variables: MockUserVariableStore,
    pub nonces: MockNonceStore,
    pub webhooks: MockWebhookStore,
    pub webhook_sender: MockWebhookSender,
    pub files: MockFileStore,
    pub blobs: crate::file::MockBlobStore,
    pub unit_of_work: MockUnitOfWork,
    pub hasher: MockPasswordHasher,
}

/// Expects the transaction to record, once, events of `types` in this order, each made by an
/// end user from [`ip`] at [`fixed_now`].
pub(crate) fn expect_events(tx: &mut MockTransaction, types: &'static [EventType]) {
    tx.expect_record_events()
        .withf(move |events| {
            events
                .iter()
                .map(|event| event.event_type)
                .eq(types.iter().copied())
                && events.iter().all(|event| {
                    matches!(event.actor, Actor::EndUser(_))
                        && event.context.as_ref().map(|context| context.client_ip) == Some(ip())
                        && event.occurred_at == fixed_now()
                })
        })
        .times(1)
        .returning(|_| Ok(()));
}

impl Mocks {
    /// Expects exactly one transaction, set up by `tx`.
    pub(crate) fn expect_transaction(&mut self, tx: MockTransaction) {
        self.unit_of_work
            .expect_begin()
            .times(1)
            .return_once(move || Ok(Box::new(tx)));
    }

    pub(crate) fn service(mut self) -> Latchkey {
        // A user's details look their ban up; unless a test says otherwise, nobody is banned.
        self.bans
            .expect_list()
            .withf(|_, filter, _| filter.kind == Some(crate::ban::BanKind::User))
            .returning(|_, _, _| {
                Ok(crate::page::Page {
                    items: vec![],
                    next: None,
                })
            });
        let mut clock = MockClock::new();
        clock.expect_now().returning(fixed_now);
        Latchkey::new(
            Ports {
                applications: Arc::new(self.applications),
                users: Arc::new(self.users),
                licenses: Arc::new(self.licenses),
                devices: Arc::new(self.devices),
                bans: Arc::new(self.bans),
                events: Arc::new(self.events),
                sessions: Arc::new(self.sessions),
                variables: Arc::new(self.variables),
                user_variables: Arc::new(self.user_variables),
                nonces: Arc::new(self.nonces),
                webhooks: Arc::new(self.webhooks),
                webhook_sender: Arc::new(self.webhook_sender),
                files: Arc::new(self.files),
                blobs: Arc::new(self.blobs),
                unit_of_work: Arc::new(self.unit_of_work),
                hasher: Arc::new(self.hasher),
                clock: Arc::new(clock),
            },
            Arc::new(crate::application::master()),
        )
    }
}
