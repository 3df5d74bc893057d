//! Files: one name per application, versioned replacement and deletion, lists, each write
//! with its event, and each application's sealed files key.

use super::{application, now};
use adapters_postgres::testing::TestDatabase;
use domain::errors::CreateFileError;
use domain::event::{ChangedBy, EventFilter, EventTarget, EventType};
use domain::file::{BlobKey, FileName, StoredFile};
use domain::page::PageRequest;
use domain::ports::{ApplicationStore, EventStore, FileStore};
use domain::values::{ApplicationId, FileId};
use std::sync::Arc;
use tokio::sync::Barrier;

crate::on_both_backends!(
    a_file_round_trips_and_is_found_by_id_and_name_in_its_application_only,
    one_name_per_application_and_concurrent_creations_store_exactly_one,
    a_replacement_or_deletion_applies_only_to_the_version_read,
    files_are_listed_newest_first_and_by_name_with_public_only,
    every_write_records_its_event_and_a_refused_one_records_none,
    the_sealed_files_key_is_stored_and_replaced,
);

fn file(app: ApplicationId, name: &str, is_public: bool) -> StoredFile {
    StoredFile {
        id: FileId::generate(),
        application_id: app,
        name: FileName::parse(name).unwrap(),
        is_public,
        is_encrypted: !is_public,
        size_bytes: 5_000_000_000,
        sha256: [9; 32],
        mime_type: "application/zip".into(),
        blob_key: BlobKey::generate(app),
        created_at: now(),
    }
}

fn event(file: &StoredFile, event_type: EventType) -> domain::event::Event {
    ChangedBy::system().event(
        file.application_id,
        event_type,
        EventTarget::file(file.id),
        now(),
    )
}

async fn a_file_round_trips_and_is_found_by_id_and_name_in_its_application_only(db: TestDatabase) {
    let store = &db.store;
    let (a, b) = (
        application(store).await.application.id,
        application(store).await.application.id,
    );
    let stored = file(a, "model weights.bin", false);
    FileStore::create(store, &stored, &[]).await.unwrap();
    assert_eq!(
        FileStore::get(store, a, stored.id).await.unwrap(),
        Some(stored.clone())
    );
    assert_eq!(
        FileStore::find_by_name(store, a, &stored.name)
            .await
            .unwrap(),
        Some(stored.clone())
    );
    assert_eq!(
        FileStore::get(store, b, stored.id).await.unwrap(),
        None,
        "another application's"
    );
    assert_eq!(
        FileStore::find_by_name(store, b, &stored.name)
            .await
            .unwrap(),
        None
    );
    // The same name in another application is another file.
    FileStore::create(store, &file(b, "model weights.bin", true), &[])
        .await
        .unwrap();
}

async fn one_name_per_application_and_concurrent_creations_store_exactly_one(db: TestDatabase) {
    let store = Arc::new(db.store.clone());
    let app = application(&store).await.application.id;
    let taken = FileStore::create(store.as_ref(), &file(app, "a.exe", true), &[]).await;
    assert!(taken.is_ok());
    let again = FileStore::create(store.as_ref(), &file(app, "a.exe", true), &[]).await;
    assert!(matches!(again, Err(CreateFileError::NameTaken)));

    let barrier = Arc::new(Barrier::new(8));
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                FileStore::create(store.as_ref(), &file(app, "raced.exe", true), &[]).await
            })
        })
        .collect();
    let mut created = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(()) => created += 1,
            Err(CreateFileError::NameTaken) => {}
            Err(error) => panic!("{error:#}"),
        }
    }
    assert_eq!(created, 1);
}

async fn a_replacement_or_deletion_applies_only_to_the_version_read(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let v1 = file(app, "app.exe", false);
    FileStore::create(store, &v1, &[]).await.unwrap();
    let v2 = StoredFile {
        blob_key: BlobKey::generate(app),
        size_bytes: 7,
        sha256: [2; 32],
        is_public: true,
        ..v1.clone()
    };
    assert!(
        FileStore::replace(store, &v1.blob_key, &v2, &[])
            .await
            .unwrap()
    );
    assert_eq!(
        FileStore::get(store, app, v1.id).await.unwrap(),
        Some(v2.clone())
    );
    // A second replacement that read v1 lost: v2 stays.
    let late = StoredFile {
        blob_key: BlobKey::generate(app),
        ..v1.clone()
    };
    assert!(
        !FileStore::replace(store, &v1.blob_key, &late, &[])
            .await
            .unwrap()
    );
    assert!(
        !FileStore::delete(store, app, v1.id, &v1.blob_key, &[])
            .await
            .unwrap()
    );
    assert_eq!(
        FileStore::get(store, app, v1.id).await.unwrap(),
        Some(v2.clone())
    );

    let other = application(store).await.application.id;
    assert!(
        !FileStore::delete(store, other, v1.id, &v2.blob_key, &[])
            .await
            .unwrap()
    );
    assert!(
        FileStore::delete(store, app, v1.id, &v2.blob_key, &[])
            .await
            .unwrap()
    );
    assert_eq!(FileStore::get(store, app, v1.id).await.unwrap(), None);
    assert!(
        !FileStore::delete(store, app, v1.id, &v2.blob_key, &[])
            .await
            .unwrap()
    );
}

async fn files_are_listed_newest_first_and_by_name_with_public_only(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let other = application(store).await.application.id;
    let mut made = Vec::new();
    for (name, public) in [("c.txt", true), ("a.txt", false), ("b.txt", true)] {
        let stored = file(app, name, public);
        FileStore::create(store, &stored, &[]).await.unwrap();
        made.push(stored);
    }
    FileStore::create(store, &file(other, "z.txt", true), &[])
        .await
        .unwrap();

    let first = FileStore::list(store, app, &PageRequest::new(None, 2).unwrap())
        .await
        .unwrap();
    let names = |files: &[StoredFile]| -> Vec<String> {
        files.iter().map(|f| f.name.as_str().to_owned()).collect()
    };
    assert_eq!(names(&first.items), ["b.txt", "a.txt"]);
    let rest = FileStore::list(store, app, &PageRequest::new(first.next, 2).unwrap())
        .await
        .unwrap();
    assert_eq!(names(&rest.items), ["c.txt"]);
    assert!(rest.next.is_none());

    let every = FileStore::list_by_name(store, app, false, 10)
        .await
        .unwrap();
    assert_eq!(names(&every), ["a.txt", "b.txt", "c.txt"]);
    let public = FileStore::list_by_name(store, app, true, 10).await.unwrap();
    assert_eq!(names(&public), ["b.txt", "c.txt"]);
    assert_eq!(
        FileStore::list_by_name(store, app, false, 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn every_write_records_its_event_and_a_refused_one_records_none(db: TestDatabase) {
    let store = &db.store;
    let app = application(store).await.application.id;
    let v1 = file(app, "app.exe", false);
    FileStore::create(store, &v1, &[event(&v1, EventType::FileCreated)])
        .await
        .unwrap();
    let duplicate = file(app, "app.exe", false);
    let refused = FileStore::create(
        store,
        &duplicate,
        &[event(&duplicate, EventType::FileCreated)],
    )
    .await;
    assert!(refused.is_err());
    let v2 = StoredFile {
        blob_key: BlobKey::generate(app),
        ..v1.clone()
    };
    FileStore::replace(
        store,
        &v1.blob_key,
        &v2,
        &[event(&v2, EventType::FileReplaced)],
    )
    .await
    .unwrap();
    // Lost replacements and deletions record nothing.
    FileStore::replace(
        store,
        &v1.blob_key,
        &v2,
        &[event(&v2, EventType::FileReplaced)],
    )
    .await
    .unwrap();
    FileStore::delete(
        store,
        app,
        v1.id,
        &v1.blob_key,
        &[event(&v1, EventType::FileDeleted)],
    )
    .await
    .unwrap();
    FileStore::delete(
        store,
        app,
        v1.id,
        &v2.blob_key,
        &[event(&v2, EventType::FileDeleted)],
    )
    .await
    .unwrap();
    let events = EventStore::list(
        store,
        app,
        &EventFilter::default(),
        &PageRequest::new(None, 50).unwrap(),
    )
    .await
    .unwrap();
    let types: Vec<_> = events.items.iter().rev().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::FileCreated,
            EventType::FileReplaced,
            EventType::FileDeleted
        ]
    );
    assert!(events.items.iter().all(|e| e.target.id == v1.id.as_uuid()));
}

async fn the_sealed_files_key_is_stored_and_replaced(db: TestDatabase) {
    let store = &db.store;
    let created = application(store).await.application;
    let sealed = created.sealed_files_key.clone();
    assert!(sealed.is_some(), "made with the application");
    assert_eq!(
        ApplicationStore::get(store, created.id)
            .await
            .unwrap()
            .unwrap()
            .sealed_files_key,
        sealed
    );
    let replaced = store
        .set_files_key(created.id, b"another sealed key", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        replaced.sealed_files_key.as_deref(),
        Some(&b"another sealed key"[..])
    );
    let unknown = ApplicationId::generate();
    assert!(
        store
            .set_files_key(unknown, b"x", &[])
            .await
            .unwrap()
            .is_none()
    );
}
