use super::*;
use domain::application::{ApplicationName, CreatedApplication, SecretToRotate};
use domain::ports::MockApplicationStore;

const TTL: Duration = Duration::from_secs(1);

fn application() -> Application {
    let master = domain::crypto::MasterKey::from_bytes(&[1; 32]).unwrap();
    CreatedApplication::generate(
        ApplicationName::parse("App").unwrap(),
        true,
        chrono::Utc::now(),
        &master,
    )
    .unwrap()
    .application
}

fn cache(store: MockApplicationStore) -> CachedApplications {
    CachedApplications::new(Arc::new(store), TTL)
}

fn rotation() -> Rotation {
    Rotation {
        which: SecretToRotate::ApiSecret,
        new_digest: Digest::of("new"),
        previous: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_found_application_is_served_from_the_cache_until_it_expires() {
    let app = application();
    let mut store = MockApplicationStore::new();
    let found = app.clone();
    store
        .expect_find_by_api_key()
        .times(2)
        .returning(move |_| Ok(Some(found.clone())));
    let cache = cache(store);
    for _ in 0..3 {
        let hit = cache.find_by_api_key("lk_app_key").await.unwrap();
        assert_eq!(hit.map(|hit| hit.id), Some(app.id));
    }
    tokio::time::advance(TTL).await;
    assert!(cache.find_by_api_key("lk_app_key").await.unwrap().is_some());
}

#[tokio::test(start_paused = true)]
async fn admin_keys_are_cached_apart_from_api_keys() {
    let app = application();
    let mut store = MockApplicationStore::new();
    let (by_api, by_admin) = (app.clone(), app.clone());
    store
        .expect_find_by_api_key()
        .times(1)
        .returning(move |_| Ok(Some(by_api.clone())));
    store
        .expect_find_by_admin_key()
        .times(1)
        .returning(move |_| Ok(Some(by_admin.clone())));
    let cache = cache(store);
    for _ in 0..2 {
        assert!(cache.find_by_api_key("lk_app_key").await.unwrap().is_some());
        let admin = cache.find_by_admin_key(&Digest::of("lk_adm_key")).await;
        assert!(admin.unwrap().is_some());
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_keys_and_errors_are_never_cached() {
    let mut store = MockApplicationStore::new();
    let mut calls = 0;
    store.expect_find_by_api_key().times(4).returning(move |_| {
        calls += 1;
        if calls % 2 == 0 {
            Err(anyhow::anyhow!("the database is down"))
        } else {
            Ok(None)
        }
    });
    let cache = cache(store);
    for _ in 0..2 {
        assert!(
            cache
                .find_by_api_key("lk_app_unknown")
                .await
                .unwrap()
                .is_none()
        );
        assert!(cache.find_by_api_key("lk_app_unknown").await.is_err());
    }
}

#[tokio::test(start_paused = true)]
async fn a_rotation_or_an_update_through_the_cache_evicts_the_application_at_once() {
    let app = application();
    let mut store = MockApplicationStore::new();
    let found = app.clone();
    store
        .expect_find_by_api_key()
        .times(3)
        .returning(move |_| Ok(Some(found.clone())));
    let rotated = app.clone();
    store
        .expect_rotate()
        .times(1)
        .returning(move |_, _, _| Ok(Some(rotated.clone())));
    let updated = app.clone();
    store
        .expect_update()
        .times(1)
        .returning(move |_, _, _| Ok(Some(updated.clone())));
    let cache = cache(store);
    assert!(cache.find_by_api_key("lk_app_key").await.unwrap().is_some());
    cache.rotate(app.id, &rotation(), &[]).await.unwrap();
    assert!(cache.find_by_api_key("lk_app_key").await.unwrap().is_some());
    cache
        .update(app.id, &ApplicationUpdate::default(), &[])
        .await
        .unwrap();
    assert!(cache.find_by_api_key("lk_app_key").await.unwrap().is_some());
}
