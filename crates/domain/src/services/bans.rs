//! Ban checks shared by every integration use case, with cross-banning: when a request is
//! refused because one of its identifiers is banned, its other identifiers are banned too
//! (when the application says so), and those bans stay although the request fails. Bans
//! the system makes expire after the cross-ban lifetime; bans come and go by the thousand
//! when abusers rotate addresses, and a ban check costs the same however many there are.

use super::{Latchkey, events};
use crate::application::Application;
use crate::ban::{BanKind, BanProbe, BanTarget, NewBan};
use crate::event::ChangedBy;
use crate::values::{ApplicationId, BanId, IpBanRange};
use chrono::{DateTime, Utc};

impl Latchkey {
    /// The kind of ban that refuses this request, if any; cross-bans on the way.
    pub(crate) async fn refusal(
        &self,
        app: &Application,
        probe: &BanProbe,
    ) -> anyhow::Result<Option<BanKind>> {
        let now = self.ports.clock.now();
        let Some(hit) = self.ports.bans.find_ban(app.id, probe, now).await? else {
            return Ok(None);
        };
        if app.settings.cross_banning {
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
        if let Some(ip) = probe.ip {
            targets.push(BanTarget::Ip(IpBanRange::single(ip)));
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
    use crate::ban::{BanKind, BanProbe, BanTarget, StoredBan};
    use crate::services::Latchkey;
    use crate::services::test_support::{Mocks, application, fixed_now, ip};
    use crate::values::HardwareId;

    fn cross_banning_app() -> crate::application::Application {
        let mut app = application(true);
        app.settings.cross_banning = true;
        app
    }

    #[tokio::test]
    async fn a_banned_identifier_gets_the_requests_other_identifiers_banned() {
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
            .return_once(|_, _, _| Ok(Some(BanKind::HardwareId)));
        mocks
            .bans
            .expect_find_ban()
            .withf(|_, p, _| p.ip.is_some() && p.hardware_id.is_none())
            .times(1)
            .return_once(|_, _, _| Ok(None));
        mocks
            .bans
            .expect_create()
            .withf(|_, ban, _| {
                matches!(&ban.target, BanTarget::Ip(range) if range.contains(ip()))
                    && ban
                        .reason
                        .as_deref()
                        .is_some_and(|r| r.contains("hardware_id"))
                    && ban.expires_at == Some(fixed_now() + Latchkey::DEFAULT_CROSS_BAN_TTL)
            })
            .times(1)
            .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
        let refused = mocks
            .service()
            .refusal(&cross_banning_app(), &probe)
            .await
            .unwrap();
        assert_eq!(refused, Some(BanKind::HardwareId));
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
                .refusal(&cross_banning_app(), &probe)
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
            mocks.service().refusal(&app, &probe).await.unwrap(),
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
            .withf(|_, p, _| p.hardware_id.is_some())
            .times(1)
            .return_once(|_, _, _| Ok(Some(BanKind::HardwareId)));
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
        let refused = service.refusal(&cross_banning_app(), &probe).await.unwrap();
        assert_eq!(refused, Some(BanKind::HardwareId));
    }
}
