//! Application variables by page: sorted by name, each page after the last name of the one
//! before, nothing skipped or repeated, and only the application's own.

use super::{application, now};
use adapters_postgres::testing::TestDatabase;
use domain::ports::VariableStore;
use domain::session::Variable;

crate::on_both_backends!(variables_page_by_name_within_their_application);

async fn variables_page_by_name_within_their_application(db: TestDatabase) {
    let store = &db.store;
    let (app, other) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    let names = ["beta", "alpha", "Zulu", "gamma", "delta", "epsilon", "a b"];
    for name in names {
        let variable = Variable::parse(name, "value", false).unwrap();
        VariableStore::set(store, app, &variable, now())
            .await
            .unwrap();
    }
    let theirs = Variable::parse("alpha2", "theirs", true).unwrap();
    VariableStore::set(store, other, &theirs, now())
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_after(app, after.clone(), 3).await.unwrap();
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|variable| variable.name.clone()));
        if page.len() < 3 {
            break;
        }
        after = page.last().map(|variable| variable.name.clone());
    }
    let mut expected: Vec<String> = VariableStore::list(store, app)
        .await
        .unwrap()
        .into_iter()
        .map(|variable| variable.name)
        .collect();
    assert_eq!(
        seen, expected,
        "the pages walk the same order as the whole list"
    );
    expected.sort();
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    assert_eq!(sorted_seen, expected);
    assert_eq!(
        seen.len(),
        names.len(),
        "only this application's, each once"
    );
    assert!(!seen.contains(&"alpha2".to_owned()));
}
