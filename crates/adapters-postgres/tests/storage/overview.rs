//! The overview's counts: exact below the cap, "cap+" above it, scoped by application.

use super::{application, license, now};
use adapters_postgres::testing::TestDatabase;
use domain::overview::Count;
use domain::ports::ApplicationStats;

crate::on_both_backends!(counts_are_exact_below_the_cap_and_capped_above_it);

async fn counts_are_exact_below_the_cap_and_capped_above_it(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let other = application(store).await.application.id;
    for i in 0..5 {
        license(store, app, &format!("OVERVIEW-{i:04}")).await;
    }
    license(store, other, "OVERVIEW-9999").await;
    let exact = store.counts(app, now(), 10).await.unwrap();
    assert_eq!(
        exact.licenses_unused,
        Count {
            value: 5,
            capped: false
        }
    );
    assert_eq!(
        exact.licenses_used,
        Count {
            value: 0,
            capped: false
        }
    );
    assert_eq!(
        exact.users,
        Count {
            value: 0,
            capped: false
        }
    );
    let capped = store.counts(app, now(), 3).await.unwrap();
    assert_eq!(
        capped.licenses_unused,
        Count {
            value: 3,
            capped: true
        }
    );
    let day = chrono::Duration::days(1);
    let (sign_ups, redemptions) = store
        .activity(app, now() - day, now() + day, 10)
        .await
        .unwrap();
    assert_eq!((sign_ups.value, redemptions.value), (0, 0));
}
