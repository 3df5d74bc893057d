use super::*;
use crate::application::master;
use crate::crypto::decrypt;
use crate::event::Actor;
use crate::services::test_support::{Mocks, application, fixed_now, ip, password_user};
use crate::session::Session;
use crate::user::Membership;
use crate::values::SessionId;
use bytes::Bytes;
use futures_util::FutureExt as _;

/// Runs a body made in memory to its end.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    future
        .now_or_never()
        .expect("an in-memory body is never pending")
}

fn by() -> ChangedBy {
    ChangedBy {
        actor: Actor::AdminKey("adm_test".into()),
        context: None,
    }
}

fn body(pieces: &[&'static [u8]]) -> ByteStream {
    let pieces: Vec<anyhow::Result<Bytes>> = pieces
        .iter()
        .map(|piece| Ok(Bytes::from_static(piece)))
        .collect();
    futures_util::stream::iter(pieces).boxed()
}

fn upload(name: &str, encrypt: bool, pieces: &[&'static [u8]]) -> Upload {
    Upload {
        name: FileName::parse(name).unwrap(),
        is_public: false,
        encrypt,
        mime_type: "application/octet-stream".into(),
        body: body(pieces),
    }
}

fn stored_file(app: ApplicationId, is_public: bool, is_encrypted: bool) -> StoredFile {
    StoredFile {
        id: FileId::generate(),
        application_id: app,
        name: FileName::parse("app.exe").unwrap(),
        is_public,
        is_encrypted,
        size_bytes: 10,
        sha256: [7; 32],
        mime_type: "application/octet-stream".into(),
        blob_key: BlobKey::generate(app),
        created_at: fixed_now(),
    }
}

/// The blob store takes the bytes as the adapter would, into `sink`; an error of the body
/// is the put's error.
fn expect_put(mocks: &mut Mocks, sink: Arc<Mutex<Vec<u8>>>) {
    mocks.blobs.expect_put().times(1).returning(move |_, body| {
        let bytes: Vec<Bytes> = block_on(body.try_collect())?;
        *sink.lock().unwrap() = bytes.concat();
        Ok(())
    });
}

#[tokio::test]
async fn an_upload_stores_its_bytes_then_its_row_with_their_size_digest_and_event() {
    let app = application(false);
    let mut mocks = Mocks::default();
    let sink = Arc::new(Mutex::new(Vec::new()));
    expect_put(&mut mocks, sink.clone());
    mocks
        .files
        .expect_find_by_name()
        .times(2)
        .returning(|_, _| Ok(None));
    mocks
        .files
        .expect_create()
        .withf(|file, events| {
            file.size_bytes == 11
                && file.sha256 == <[u8; 32]>::from(Sha256::digest(b"hello world"))
                && events.len() == 1
                && events[0].event_type == EventType::FileCreated
                && events[0].target.id == file.id.as_uuid()
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let uploaded = mocks
        .service()
        .upload(
            &app,
            upload("app.exe", false, &[b"hello", b" world"]),
            false,
            &by(),
        )
        .await
        .unwrap();
    assert!(matches!(uploaded, Uploaded::Created(file) if file.name.as_str() == "app.exe"));
    assert_eq!(*sink.lock().unwrap(), b"hello world");
}

#[tokio::test]
async fn an_encrypted_upload_stores_what_the_applications_files_key_opens() {
    let mut app = application(false);
    let key = FilesKey::generate();
    app.sealed_files_key = Some(key.seal(&master(), app.id).unwrap());
    let mut mocks = Mocks::default();
    let sink = Arc::new(Mutex::new(Vec::new()));
    expect_put(&mut mocks, sink.clone());
    mocks.files.expect_find_by_name().returning(|_, _| Ok(None));
    mocks
        .files
        .expect_create()
        .withf(|file, _| file.is_encrypted && file.size_bytes == crate::crypto::encrypted_len(5))
        .times(1)
        .returning(|_, _| Ok(()));
    mocks
        .service()
        .upload(
            &app,
            upload("secret.bin", true, &[b"top", b"!!"]),
            false,
            &by(),
        )
        .await
        .unwrap();
    let stored = sink.lock().unwrap().clone();
    assert_eq!(decrypt(&key, &stored).unwrap(), b"top!!");
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_and_records_nothing() {
    let app = application(false);
    let mut mocks = Mocks::default();
    mocks
        .files
        .expect_find_by_name()
        .times(1)
        .returning(|_, _| Ok(None));
    mocks.blobs.expect_put().times(1).returning(|_, body| {
        block_on(body.try_collect::<Vec<Bytes>>())?;
        Ok(())
    });
    mocks.files.expect_create().never();
    let refused = mocks
        .service()
        .with_max_file_size(8)
        .upload(
            &app,
            upload("big.bin", false, &[b"12345", b"6789"]),
            false,
            &by(),
        )
        .await;
    assert!(matches!(refused, Err(UploadError::TooLarge { max: 8 })));
}

#[tokio::test]
async fn a_failed_body_is_an_interrupted_upload() {
    let app = application(false);
    let mut mocks = Mocks::default();
    mocks.files.expect_find_by_name().returning(|_, _| Ok(None));
    mocks.blobs.expect_put().times(1).returning(|_, body| {
        block_on(body.try_collect::<Vec<Bytes>>())?;
        Ok(())
    });
    let mut broken = upload("a.bin", false, &[]);
    broken.body = futures_util::stream::iter([
        Ok(Bytes::from_static(b"abc")),
        Err(anyhow::anyhow!("client went away")),
    ])
    .boxed();
    let refused = mocks.service().upload(&app, broken, false, &by()).await;
    assert!(
        matches!(refused, Err(UploadError::Interrupted(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_taken_name_is_refused_before_a_byte_is_read() {
    let app = application(false);
    let mut mocks = Mocks::default();
    let app_id = app.id;
    mocks
        .files
        .expect_find_by_name()
        .times(1)
        .returning(move |_, _| Ok(Some(stored_file(app_id, false, false))));
    mocks.blobs.expect_put().never();
    let refused = mocks
        .service()
        .upload(&app, upload("app.exe", false, &[b"x"]), false, &by())
        .await;
    assert!(matches!(refused, Err(UploadError::NameTaken)));
}

#[tokio::test]
async fn losing_a_race_for_a_name_deletes_the_bytes_stored() {
    let app = application(false);
    let mut mocks = Mocks::default();
    expect_put(&mut mocks, Arc::new(Mutex::new(Vec::new())));
    mocks.files.expect_find_by_name().returning(|_, _| Ok(None));
    mocks
        .files
        .expect_create()
        .times(1)
        .returning(|_, _| Err(CreateFileError::NameTaken));
    mocks.blobs.expect_delete().times(1).returning(|_| Ok(()));
    let refused = mocks
        .service()
        .upload(&app, upload("app.exe", false, &[b"x"]), false, &by())
        .await;
    assert!(matches!(refused, Err(UploadError::NameTaken)));
}

#[tokio::test]
async fn an_upload_by_name_replaces_the_file_keeping_its_id_and_deletes_the_old_bytes() {
    let app = application(false);
    let old = stored_file(app.id, true, false);
    let (old_id, old_key) = (old.id, old.blob_key.clone());
    let mut mocks = Mocks::default();
    expect_put(&mut mocks, Arc::new(Mutex::new(Vec::new())));
    mocks
        .files
        .expect_find_by_name()
        .times(1)
        .return_once(move |_, _| Ok(Some(old)));
    let expected_key = old_key.clone();
    mocks
        .files
        .expect_replace()
        .withf(move |previous, file, events| {
            *previous == expected_key
                && file.id == old_id
                && file.blob_key != expected_key
                && events[0].event_type == EventType::FileReplaced
        })
        .times(1)
        .returning(|_, _, _| Ok(true));
    let deleted_key = old_key.clone();
    mocks
        .blobs
        .expect_delete()
        .withf(move |key| *key == deleted_key)
        .times(1)
        .returning(|_| Ok(()));
    let uploaded = mocks
        .service()
        .upload(&app, upload("app.exe", false, &[b"v2"]), true, &by())
        .await
        .unwrap();
    assert!(matches!(uploaded, Uploaded::Replaced(file) if file.id == old_id));
}

#[tokio::test]
async fn deleting_a_file_removes_its_row_with_an_event_then_its_bytes() {
    let app = application(false);
    let file = stored_file(app.id, false, false);
    let (id, key) = (file.id, file.blob_key.clone());
    let mut mocks = Mocks::default();
    mocks
        .files
        .expect_get()
        .times(1)
        .return_once(move |_, _| Ok(Some(file)));
    let version = key.clone();
    mocks
        .files
        .expect_delete()
        .withf(move |_, deleted, at, events| {
            *deleted == id && *at == version && events[0].event_type == EventType::FileDeleted
        })
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    mocks
        .blobs
        .expect_delete()
        .withf(move |deleted| *deleted == key)
        .times(1)
        .returning(|_| Ok(()));
    assert!(
        mocks
            .service()
            .delete_file(app.id, id, &by())
            .await
            .unwrap()
    );
}

fn serving(mocks: &mut Mocks, file: StoredFile, range: Option<Range<u64>>) {
    mocks
        .files
        .expect_get()
        .times(1)
        .return_once(move |_, _| Ok(Some(file)));
    mocks
        .blobs
        .expect_get()
        .withf(move |_, asked| *asked == range)
        .times(1)
        .returning(|_, _| Ok(Some(body(&[b"bytes"]))));
}

#[tokio::test]
async fn anonymous_callers_get_public_files_only_and_only_with_anonymous_access() {
    let mut app = application(false);
    let public = stored_file(app.id, true, false);
    let refused = Mocks::default()
        .service()
        .download(&app, Caller::Anonymous, ip(), public.id, None)
        .await;
    assert!(
        matches!(refused, Err(AppContextError::InvalidSession)),
        "no anonymous access"
    );

    app.settings.anonymous_access = true;
    let mut mocks = Mocks::default();
    mocks.bans.expect_find_ban().returning(|_, _, _| Ok(None));
    serving(&mut mocks, public.clone(), None);
    let served = mocks
        .service()
        .download(&app, Caller::Anonymous, ip(), public.id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(served.file, public);

    let private = stored_file(app.id, false, false);
    let mut mocks = Mocks::default();
    mocks.bans.expect_find_ban().returning(|_, _, _| Ok(None));
    let private_id = private.id;
    mocks
        .files
        .expect_get()
        .return_once(move |_, _| Ok(Some(private)));
    mocks.blobs.expect_get().never();
    let refused = mocks
        .service()
        .download(&app, Caller::Anonymous, ip(), private_id, None)
        .await;
    assert!(matches!(refused, Err(AppContextError::InvalidSession)));
}

#[tokio::test]
async fn an_anonymous_caller_from_a_banned_address_gets_nothing() {
    let mut app = application(false);
    app.settings.anonymous_access = true;
    let mut mocks = Mocks::default();
    mocks
        .bans
        .expect_find_ban()
        .returning(|_, _, _| Ok(Some(crate::ban::BanKind::Ip)));
    mocks.files.expect_get().never();
    let refused = mocks
        .service()
        .download(&app, Caller::Anonymous, ip(), FileId::generate(), None)
        .await;
    assert!(matches!(refused, Err(AppContextError::Banned(_))));
}

/// A live session of a user whose membership is `membership`.
fn signed_in(mocks: &mut Mocks, membership: Membership) {
    let user = User {
        membership,
        ..password_user()
    };
    let session = Session {
        id: SessionId::generate(),
        user: user.id,
        expires_at: fixed_now() + chrono::Duration::minutes(5),
        revoked_at: None,
    };
    mocks
        .sessions
        .expect_find_by_token()
        .return_once(move |_, _| Ok(Some(session)));
    mocks
        .users
        .expect_get()
        .return_once(move |_, _| Ok(Some(user)));
    mocks.bans.expect_find_ban().returning(|_, _, _| Ok(None));
}

#[tokio::test]
async fn a_private_file_needs_an_active_membership_a_public_one_does_not() {
    let app = application(false);
    let expired = Membership {
        is_lifetime: false,
        active_until: Some(fixed_now() - chrono::Duration::days(1)),
    };
    let private = stored_file(app.id, false, false);
    let mut mocks = Mocks::default();
    signed_in(&mut mocks, expired);
    let private_id = private.id;
    mocks
        .files
        .expect_get()
        .return_once(move |_, _| Ok(Some(private)));
    let refused = mocks
        .service()
        .download(
            &app,
            Caller::Session("lk_ses_x".into()),
            ip(),
            private_id,
            None,
        )
        .await
        .unwrap();
    assert!(matches!(refused, Err(DownloadRefusal::MembershipInactive)));

    let public = stored_file(app.id, true, false);
    let mut mocks = Mocks::default();
    signed_in(&mut mocks, expired);
    serving(&mut mocks, public.clone(), None);
    let served = mocks
        .service()
        .download(
            &app,
            Caller::Session("lk_ses_x".into()),
            ip(),
            public.id,
            None,
        )
        .await
        .unwrap();
    assert!(served.is_ok());
}

#[tokio::test]
async fn another_applications_file_is_not_found() {
    let app = application(false);
    let mut mocks = Mocks::default();
    signed_in(
        &mut mocks,
        Membership {
            is_lifetime: true,
            active_until: None,
        },
    );
    // The store scopes by application: another application's id finds nothing.
    mocks.files.expect_get().returning(|_, _| Ok(None));
    let refused = mocks
        .service()
        .download(
            &app,
            Caller::Session("lk_ses_x".into()),
            ip(),
            FileId::generate(),
            None,
        )
        .await
        .unwrap();
    assert!(matches!(refused, Err(DownloadRefusal::NotFound)));
}

#[tokio::test]
async fn ranges_are_served_for_plain_files_and_ignored_for_encrypted_ones() {
    let app = application(false);
    let plain = stored_file(app.id, true, false);
    let mut mocks = Mocks::default();
    serving(&mut mocks, plain.clone(), Some(2..10));
    let served = mocks
        .service()
        .admin_download(app.id, plain.id, Some(RequestedRange::From(2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(served.range, Some(2..10));

    let encrypted = stored_file(app.id, true, true);
    let mut mocks = Mocks::default();
    serving(&mut mocks, encrypted.clone(), None);
    let served = mocks
        .service()
        .admin_download(app.id, encrypted.id, Some(RequestedRange::From(2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(served.range, None, "an encrypted file is served whole");

    let mut mocks = Mocks::default();
    mocks
        .files
        .expect_get()
        .return_once(move |_, _| Ok(Some(plain)));
    mocks.blobs.expect_get().never();
    let refused = mocks
        .service()
        .admin_download(app.id, FileId::generate(), Some(RequestedRange::From(10)))
        .await
        .unwrap();
    assert!(matches!(
        refused,
        Err(DownloadRefusal::RangeNotSatisfiable { size: 10 })
    ));
}

#[tokio::test]
async fn applications_without_a_files_key_get_one_at_start() {
    let mut mocks = Mocks::default();
    let app = application(false);
    let app_id = app.id;
    mocks.applications.expect_list().return_once(move |_| {
        Ok(crate::page::Page {
            items: vec![app],
            next: None,
        })
    });
    mocks
        .applications
        .expect_set_files_key()
        .withf(move |id, sealed, events| {
            *id == app_id && FilesKey::open(&master(), app_id, sealed).is_ok() && events.is_empty()
        })
        .times(1)
        .returning(|_, _, _| Ok(None));
    assert_eq!(mocks.service().prepare_files_keys().await.unwrap(), 1);
}
