//! Ban checks shared by every integration use case, with cross-banning: when a request is
//! refused because one of its identifiers is banned, its other identifiers are banned too
//! (when the application says so), and those bans stay although the request fails. Only
//! what the request proved is cross-banned: nothing before its credentials or code matched
//! (anyone with the public API secret can name any device), and never an address because of
//! a device, which a caller names at will. Addresses are banned by their IPv6 network. Bans
//! the system makes expire after the cross-ban lifetime; bans come and go by the thousand
//! when abusers rotate addresses, and a ban check costs the same however many there are.

use super::{Latchkey, events};
use crate::application::Application;
use crate::ban::{BanKind, BanProbe, BanTarget, NewBan};
use crate::event::ChangedBy;
use crate::values::{ApplicationId, BanId, IpBanRange};
use chrono::{DateTime, Utc};

/// What a request has proved of the identifiers it came with, when a ban check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proof {
    /// Nothing yet (before its credentials, a sign-up, an anonymous call): no cross-ban.
    Nothing,
    /// Its password, session or license code matched: what it came with may be cross-banned.
    Matched,
}

impl Latchkey {
    /// The kind of ban that refuses this request, if any; cross-bans on the way.
    pub(crate) async fn refusal(
        &self,
        app: &Application,
        probe: &BanProbe,
        proof: Proof,
    ) -> anyhow::Result<Option<BanKind>> {
        let now = self.ports.clock.now();
        let Some(hit) = self.ports.bans.find_ban(app.id, probe, now).await? else {
            return Ok(None);
        };
        if app.settings.cross_banning && proof == Proof::Matched {
            self.cross_ban(app, hit, probe).await?;
        }
        Ok(Some(hit))
    }

    async fn cross_ban(
        &self,
        app: &Application,
        hit: BanKind,
        probe: &BanProbe,
    ) -> anyhow::Result<()> {
        let mut targets = Vec::new();
        // A device is only named by the caller: its ban says nothing of the address.
        if let Some(ip) = probe.ip
            && hit != BanKind::HardwareId
        {
            targets.push(BanTarget::Ip(IpBanRange::network_of(ip, self.ipv6_prefix)));
        }
        if let Some(id) = &probe.hardware_id {
            targets.push(BanTarget::HardwareId(id.clone()));
        }
        if let Some(id) = probe.license {
            targets.push(BanTarget::License(id));
        }
        if let Some(id) = probe.user {
            targets.push(BanTarget::User(id));
        }
        let reason = format!("cross-ban: a request came with a banned {}", hit.as_str());
        for target in targets.into_iter().filter(|target| target.kind() != hit) {
            self.ban_unless_banned(app.id, target, &reason, None)
                .await?;
        }
        Ok(())
    }

    /// Bans `target` unless a ban already covers it, until the cross-ban lifetime ends, or
    /// `until` when that comes first.
    pub(crate) async fn ban_unless_banned(
        &self,
        app: ApplicationId,
        target: BanTarget,
        reason: &str,
        until: Option<DateTime<Utc>>,
    ) -> anyhow::Result<()> {
        let now = self.ports.clock.now();
        let alone = match &target {
            BanTarget::Ip(range) => BanProbe {
                ip: Some(range.first()),
                ..BanProbe::default()
            },
            BanTarget::HardwareId(id) => BanProbe {
                hardware_id: Some(id.clone()),
                ..BanProbe::default()
            },
            BanTarget::License(id) => BanProbe {
                license: Some(*id),
                ..BanProbe::default()
            },
            BanTarget::User(id) => BanProbe {
                user: Some(*id),
                ..BanProbe::default()
            },
        };
        if self.ports.bans.find_ban(app, &alone, now).await?.is_some() {
            return Ok(());
        }
        let lifetime_end = self.cross_ban_ttl.map(|ttl| now + ttl);
        let ban = NewBan {
            id: BanId::generate(),
            target,
            reason: Some(reason.to_owned()),
            created_at: now,
            expires_at: [lifetime_end, until].into_iter().flatten().min(),
        };
        let created = events::ban_created(app, &ban, &ChangedBy::system());
        self.ports.bans.create(app, &ban, &[created]).await?;
        tracing::info!(
            kind = ban.target.kind().as_str(),
            "banned alongside another ban"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Proof;
    use crate::ban::{BanKind, BanProbe, BanTarget, StoredBan};
    use crate::services::Latchkey;
    use crate::services::test_support::{Mocks, application, fixed_now, ip};
    use crate::values::{ClientIp, HardwareId, UserId};

    fn cross_banning_app() -> crate::application::Application {
        let mut app = application(true);
        app.settings.cross_banning = true;
        app
    }

    #[tokio::test]
    async fn a_banned_identifier_gets_the_requests_other_proven_identifiers_banned() {
        let mut mocks = Mocks::default();
        let probe = BanProbe {
            ip: Some(ip()),
            hardware_id: Some(HardwareId::parse("hw").unwrap()),
            ..BanProbe::default()
        };
        mocks
            .bans
            .expect_find_ban()
            .withf(|_, p, now| p.ip.is_some() && p.hardware_id.is_some() && *now == fixed_now())
            .times(1)
            .return_once(|_, _, _| Ok(Some(BanKind::Ip)));
        mocks
            .bans
            .expect_find_ban()
            .withf(|_, p, _| p.ip.is_none() && p.hardware_id.is_some())
            .times(1)
            .return_once(|_, _, _| Ok(None));
        mocks
            .bans
            .expect_create()
            .withf(|_, ban, _| {
                matches!(&ban.target, BanTarget::HardwareId(id) if id.as_str() == "hw")
                    && ban.reason.as_deref().is_some_and(|r| r.contains("ip"))
                    && ban.expires_at == Some(fixed_now() + Latchkey::DEFAULT_CROSS_BAN_TTL)
            })
            .times(1)
            .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
        let refused = mocks
            .service()
            .refusal(&cross_banning_app(), &probe, Proof::Matched)
            .await
            .unwrap();
        assert_eq!(refused, Some(BanKind::Ip));
    }

    /// Refuses a request from an address naming a device, with one ban of `kind` found, and
    /// asserts that nothing is cross-banned.
    async fn refused_without_cross_bans(kind: BanKind, proof: Proof) {
        let mut mocks = Mocks::default();
        let probe = BanProbe {
            ip: Some(ip()),
            hardware_id: Some(HardwareId::parse("anyones-device").unwrap()),
            ..BanProbe::default()
        };
        mocks
            .bans
            .expect_find_ban()
            .times(1)
            .return_once(move |_, _, _| Ok(Some(kind)));
        mocks.bans.expect_create().never();
        let refused = mocks
            .service()
            .refusal(&cross_banning_app(), &probe, proof)
            .await
            .unwrap();
        assert_eq!(refused, Some(kind));
    }

    #[tokio::test]
    async fn nothing_is_cross_banned_before_the_request_proved_anything() {
        refused_without_cross_bans(BanKind::Ip, Proof::Nothing).await;
    }

    #[tokio::test]
    async fn a_banned_device_never_gets_an_address_banned() {
        refused_without_cross_bans(BanKind::HardwareId, Proof::Matched).await;
    }

    #[tokio::test]
    async fn a_banned_user_gets_the_ipv6_network_banned_not_one_address() {
        let mut mocks = Mocks::default();
        let v6 = ClientIp::parse("2001:db8:1:2:aaaa::1").unwrap();
        let probe = BanProbe {
            ip: Some(v6),
            user: Some(UserId::generate()),
            ..BanProbe::default()
        };
        mocks
            .bans
            .expect_find_ban()
            .withf(|_, p, _| p.user.is_some())
            .times(1)
            .return_once(|_, _, _| Ok(Some(BanKind::User)));
        mocks
            .bans
            .expect_find_ban()
            .times(1)
            .return_once(|_, _, _| Ok(None));
        mocks
            .bans
            .expect_create()
            .withf(|_, ban, _| {
                matches!(&ban.target, BanTarget::Ip(range)
                    if range.prefix() == "2001:db8:1:2::/64"
                        && range.contains(ClientIp::parse("2001:db8:1:2:ffff::9").unwrap()))
            })
            .times(1)
            .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
        let refused = mocks
            .service()
            .refusal(&cross_banning_app(), &probe, Proof::Matched)
            .await
            .unwrap();
        assert_eq!(refused, Some(BanKind::User));
    }

    #[tokio::test]
    async fn identifiers_already_banned_are_not_banned_twice() {
        let mut mocks = Mocks::default();
        let probe = BanProbe {
            ip: Some(ip()),
            hardware_id: Some(HardwareId::parse("hw").unwrap()),
            ..BanProbe::default()
        };
        mocks
            .bans
            .expect_find_ban()
            .times(2)
            .returning(|_, _, _| Ok(Some(BanKind::Ip)));
        mocks.bans.expect_create().never();
        assert_eq!(
            mocks
                .service()
                .refusal(&cross_banning_app(), &probe, Proof::Matched)
                .await
                .unwrap(),
            Some(BanKind::Ip)
        );
    }

    #[tokio::test]
    async fn without_cross_banning_nothing_more_is_banned() {
        let mut mocks = Mocks::default();
        let mut app = application(true);
        app.settings.cross_banning = false;
        let probe = BanProbe {
            ip: Some(ip()),
            hardware_id: Some(HardwareId::parse("hw").unwrap()),
            ..BanProbe::default()
        };
        mocks
            .bans
            .expect_find_ban()
            .times(1)
            .return_once(|_, _, _| Ok(Some(BanKind::Ip)));
        mocks.bans.expect_create().never();
        assert_eq!(
            mocks
                .service()
                .refusal(&app, &probe, Proof::Matched)
                .await
                .unwrap(),
            Some(BanKind::Ip)
        );
    }

    #[tokio::test]
    async fn cross_bans_last_forever_when_the_lifetime_is_turned_off() {
        let mut mocks = Mocks::default();
        let probe = BanProbe {
            ip: Some(ip()),
            hardware_id: Some(HardwareId::parse("hw").unwrap()),
            ..BanProbe::default()
        };
        mocks
            .bans
            .expect_find_ban()
            .withf(|_, p, _| p.ip.is_some())
            .times(1)
            .return_once(|_, _, _| Ok(Some(BanKind::Ip)));
        mocks
            .bans
            .expect_find_ban()
            .times(1)
            .return_once(|_, _, _| Ok(None));
        mocks
            .bans
            .expect_create()
            .withf(|_, ban, _| ban.expires_at.is_none())
            .times(1)
            .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
        let service = mocks.service().with_cross_ban_ttl(None);
        let refused = service
            .refusal(&cross_banning_app(), &probe, Proof::Matched)
            .await
            .unwrap();
        assert_eq!(refused, Some(BanKind::Ip));
    }
}
