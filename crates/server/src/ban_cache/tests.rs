use super::*;
use domain::ban::BanTarget;
use domain::ports::MockBanStore;
use domain::values::{ClientIp, HardwareId, IpBanRange};

const TTL: Duration = Duration::from_secs(1);

fn app() -> ApplicationId {
    ApplicationId::from_uuid(uuid::Uuid::from_u128(7))
}

fn lengths(ranges: &[&str]) -> IpPrefixLengths {
    ranges
        .iter()
        .map(|range| IpBanRange::parse(range).unwrap().prefix_length())
        .collect()
}

fn from(ip: &str) -> BanProbe {
    BanProbe {
        ip: Some(ClientIp::parse(ip).unwrap()),
        ..BanProbe::default()
    }
}

fn cache(store: MockBanStore) -> CachedBans {
    CachedBans::new(Arc::new(store), TTL)
}

#[tokio::test(start_paused = true)]
async fn an_address_is_checked_at_the_cached_prefix_lengths_until_they_expire() {
    let mut store = MockBanStore::new();
    store
        .expect_ip_prefix_lengths()
        .withf(|id| *id == app())
        .times(2)
        .returning(|_| Ok(lengths(&["10.0.0.0/8", "10.1.2.3"])));
    store
        .expect_find_ban()
        .withf(|_, probe, _| {
            probe.ip_prefix_lengths == Some(lengths(&["10.0.0.0/8", "10.1.2.3"]))
                && probe.match_keys().len() == 2
        })
        .times(4)
        .returning(|_, _, _| Ok(Some(BanKind::Ip)));
    let cache = cache(store);
    for _ in 0..3 {
        let hit = cache.find_ban(app(), &from("10.1.2.3"), Utc::now()).await;
        assert_eq!(hit.unwrap(), Some(BanKind::Ip));
    }
    tokio::time::advance(TTL).await;
    let hit = cache.find_ban(app(), &from("10.1.2.3"), Utc::now()).await;
    assert_eq!(hit.unwrap(), Some(BanKind::Ip));
}

#[tokio::test(start_paused = true)]
async fn a_probe_without_an_address_needs_no_lengths() {
    let mut store = MockBanStore::new();
    store.expect_ip_prefix_lengths().never();
    store
        .expect_find_ban()
        .withf(|_, probe, _| probe.ip_prefix_lengths.is_none())
        .times(1)
        .returning(|_, _, _| Ok(None));
    let probe = BanProbe {
        hardware_id: Some(HardwareId::parse("device-1").unwrap()),
        ..BanProbe::default()
    };
    let hit = cache(store).find_ban(app(), &probe, Utc::now()).await;
    assert_eq!(hit.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn a_ban_made_here_is_checked_at_its_length_at_once() {
    let mut store = MockBanStore::new();
    let mut loads = 0;
    store
        .expect_ip_prefix_lengths()
        .times(2)
        .returning(move |_| {
            loads += 1;
            Ok(if loads == 1 {
                lengths(&["10.1.2.3"])
            } else {
                lengths(&["10.1.2.3", "192.0.2.0/24"])
            })
        });
    store
        .expect_create()
        .times(1)
        .returning(|_, ban, _| Ok(StoredBan::Created(ban.created())));
    store.expect_find_ban().returning(|_, probe, _| {
        let banned = IpBanRange::parse("192.0.2.0/24").unwrap();
        let key = BanTarget::Ip(banned).match_key();
        Ok(probe.match_keys().contains(&key).then_some(BanKind::Ip))
    });
    let cache = cache(store);
    let before = cache.find_ban(app(), &from("192.0.2.9"), Utc::now()).await;
    assert_eq!(before.unwrap(), None, "no /24 was banned yet");

    let now = Utc::now();
    let ban = NewBan {
        id: BanId::generate(),
        target: BanTarget::Ip(IpBanRange::parse("192.0.2.0/24").unwrap()),
        reason: None,
        created_at: now,
        expires_at: None,
    };
    cache.create(app(), &ban, &[]).await.unwrap();
    let after = cache.find_ban(app(), &from("192.0.2.9"), now).await;
    assert_eq!(after.unwrap(), Some(BanKind::Ip), "well within the ttl");
}

#[tokio::test(start_paused = true)]
async fn a_failed_load_fails_the_check_and_is_not_cached() {
    let mut store = MockBanStore::new();
    let mut loads = 0;
    store
        .expect_ip_prefix_lengths()
        .times(2)
        .returning(move |_| {
            loads += 1;
            if loads == 1 {
                Err(anyhow::anyhow!("the database is down"))
            } else {
                Ok(IpPrefixLengths::new())
            }
        });
    store
        .expect_find_ban()
        .times(1)
        .returning(|_, _, _| Ok(None));
    let cache = cache(store);
    assert!(
        cache
            .find_ban(app(), &from("10.0.0.1"), Utc::now())
            .await
            .is_err()
    );
    let hit = cache.find_ban(app(), &from("10.0.0.1"), Utc::now()).await;
    assert_eq!(hit.unwrap(), None);
}
