//! The blob store against a local directory and against a real S3 server: every check of the
//! suite runs on both (`local::…`, `s3::…`). The S3 server is `LATCHKEY_TEST_S3_ENDPOINT`, which
//! `make test` (scripts/with-services.sh) provides with moto; each test has its own bucket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_blobs::{BlobSettings, ObjectBlobStore};
use bytes::Bytes;
use domain::file::{BlobKey, BlobStore, ByteStream};
use domain::values::ApplicationId;
use futures_util::{StreamExt as _, TryStreamExt as _, future, stream};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;
const PIECE: usize = 64 * 1024;

/// Runs each check of the suite against both stores, as `local::<check>` and `s3::<check>`.
macro_rules! suite {
    ($($check:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $check() {
                    super::$check(super::Backend::local()).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test]
                async fn $check() {
                    super::$check(super::Backend::s3("").await).await;
                }
            )*
        }
    };
}

suite!(
    a_body_of_several_parts_round_trips,
    a_small_body_round_trips,
    an_empty_body_round_trips,
    ranges_return_exactly_their_bytes,
    a_missing_key_reads_as_none,
    a_deleted_blob_reads_as_none,
    deleting_a_missing_key_succeeds,
    a_put_replaces_what_is_under_the_key,
    a_body_failing_after_some_parts_leaves_nothing,
    a_body_failing_within_the_first_part_leaves_nothing,
    an_upload_abandoned_mid_way_leaves_nothing,
);

async fn a_body_of_several_parts_round_trips(backend: Backend) {
    let data = content(12 * MIB, 1);
    let key = new_key();
    backend.store.put(&key, body(&data)).await.unwrap();
    assert!(read(&backend.store, &key, None).await.unwrap() == data);
    backend.assert_nothing_pending().await;
}

async fn a_small_body_round_trips(backend: Backend) {
    let data = content(100_000, 2);
    let key = new_key();
    backend.store.put(&key, body(&data)).await.unwrap();
    assert!(read(&backend.store, &key, None).await.unwrap() == data);
}

async fn an_empty_body_round_trips(backend: Backend) {
    let key = new_key();
    backend
        .store
        .put(&key, stream::empty().boxed())
        .await
        .unwrap();
    assert_eq!(read(&backend.store, &key, None).await, Some(Vec::new()));
}

async fn ranges_return_exactly_their_bytes(backend: Backend) {
    let data = content(10 * MIB + 123, 3);
    let key = new_key();
    backend.store.put(&key, body(&data)).await.unwrap();
    let size = data.len() as u64;
    for range in [1_000..3 * MIB as u64 + 17, 0..1, size - 1..size] {
        let got = read(&backend.store, &key, Some(range.clone()))
            .await
            .unwrap();
        let want = &data[range.start as usize..range.end as usize];
        assert!(got == want, "range {range:?}: {} bytes", got.len());
    }
    assert_eq!(
        read(&backend.store, &key, Some(5..5)).await,
        Some(Vec::new())
    );
}

async fn a_missing_key_reads_as_none(backend: Backend) {
    let key = new_key();
    assert_eq!(read(&backend.store, &key, None).await, None);
    assert_eq!(read(&backend.store, &key, Some(0..1)).await, None);
    assert_eq!(read(&backend.store, &key, Some(0..0)).await, None);
}

async fn a_deleted_blob_reads_as_none(backend: Backend) {
    let key = new_key();
    backend
        .store
        .put(&key, body(&content(1000, 4)))
        .await
        .unwrap();
    backend.store.delete(&key).await.unwrap();
    assert_eq!(read(&backend.store, &key, None).await, None);
}

async fn deleting_a_missing_key_succeeds(backend: Backend) {
    backend.store.delete(&new_key()).await.unwrap();
}

async fn a_put_replaces_what_is_under_the_key(backend: Backend) {
    let (large, small) = (content(9 * MIB, 5), content(1000, 6));
    let key = new_key();
    backend.store.put(&key, body(&large)).await.unwrap();
    backend.store.put(&key, body(&small)).await.unwrap();
    assert_eq!(read(&backend.store, &key, None).await, Some(small));
    backend.store.put(&key, body(&large)).await.unwrap();
    assert!(read(&backend.store, &key, None).await.unwrap() == large);
}

async fn a_body_failing_after_some_parts_leaves_nothing(backend: Backend) {
    let key = new_key();
    let error = backend
        .store
        .put(&key, failing_body(&content(20 * MIB, 7)))
        .await
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("the client went away"),
        "{error:#}"
    );
    assert_eq!(read(&backend.store, &key, None).await, None);
    backend.assert_empty().await;
}

async fn a_body_failing_within_the_first_part_leaves_nothing(backend: Backend) {
    let key = new_key();
    let error = backend
        .store
        .put(&key, failing_body(&content(MIB, 8)))
        .await
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("the client went away"),
        "{error:#}"
    );
    assert_eq!(read(&backend.store, &key, None).await, None);
    backend.assert_empty().await;
}

/// The upload's future is dropped while parts are on their way, as actix drops a handler's
/// when its client disconnects: no error path runs, and still nothing stays behind.
async fn an_upload_abandoned_mid_way_leaves_nothing(backend: Backend) {
    let key = new_key();
    let (reached, reached_rx) = tokio::sync::oneshot::channel();
    let stalls = stream::once(async move {
        let _ = reached.send(());
        future::pending::<anyhow::Result<Bytes>>().await
    });
    let body = body(&content(10 * MIB, 9)).chain(stalls).boxed();
    let upload = tokio::spawn({
        let (store, key) = (backend.store.clone(), key.clone());
        async move { store.put(&key, body).await }
    });
    reached_rx.await.unwrap();
    backend.assert_something_pending().await;
    upload.abort();
    assert!(upload.await.unwrap_err().is_cancelled());
    eventually("the abandoned upload is cleaned up", async || {
        backend.pending().await.is_empty()
    })
    .await;
    assert_eq!(read(&backend.store, &key, None).await, None);
    backend.assert_empty().await;
}

#[tokio::test]
async fn a_prefixed_bucket_keeps_its_blobs_under_the_prefix() {
    let backend = Backend::s3("some/prefix").await;
    let Place::S3 { endpoint, bucket } = &backend.place else {
        unreachable!()
    };
    let whole_bucket = Backend::open_s3(endpoint, &format!("s3://{bucket}"));
    let data = content(2 * MIB, 10);
    let key = new_key();
    backend.store.put(&key, body(&data)).await.unwrap();

    let under_prefix = BlobKey::from_stored(format!("some/prefix/{}", key.as_str()));
    // `assert!`, not `assert_eq!`: a failure would print 2 MiB.
    assert!(read(&whole_bucket, &under_prefix, None).await.as_ref() == Some(&data));
    assert_eq!(read(&whole_bucket, &key, None).await, None);
    assert!(read(&backend.store, &key, None).await.as_ref() == Some(&data));
}

#[tokio::test]
async fn a_relative_file_url_is_relative_to_the_working_directory_and_created() {
    let temp = tempfile::tempdir().unwrap();
    let directory = temp.path().join("new/files");
    let cwd = std::env::current_dir().unwrap();
    let relative = format!(
        "{}{}",
        "../".repeat(cwd.components().count() - 1),
        directory.strip_prefix("/").unwrap().display()
    );
    let store = ObjectBlobStore::open(&BlobSettings {
        url: format!("file://{relative}"),
        endpoint: None,
    })
    .unwrap();
    let key = new_key();
    store.put(&key, body(b"hello")).await.unwrap();
    assert_eq!(
        std::fs::read(directory.join(key.as_str())).unwrap(),
        b"hello"
    );
}

#[test]
fn other_urls_are_refused_naming_the_accepted_forms() {
    for url in [
        "gs://bucket",
        "/var/lib/files",
        "",
        "https://example.com/bucket",
    ] {
        let error = open(url, None).unwrap_err().to_string();
        assert!(
            error.contains("file:///") && error.contains("s3://bucket"),
            "{url}: {error}"
        );
    }
    for url in [
        "s3://",
        "s3:///prefix",
        "s3://bucket:9000",
        "s3://bucket?region=x",
    ] {
        assert!(open(url, None).is_err(), "{url}");
    }
    assert!(open("file://", None).is_err());
    let directory = tempfile::tempdir().unwrap();
    let file_url = format!("file://{}", directory.path().display());
    let error = open(&file_url, Some("http://127.0.0.1:9000")).unwrap_err();
    assert!(error.to_string().contains("s3:// URLs only"), "{error}");
}

#[test]
fn credentials_are_never_repeated_in_errors_or_debug_output() {
    let error = open("s3://AKIDEXAMPLE:hunter2secret@bucket", None).unwrap_err();
    assert!(
        !format!("{error:#} {error:?}").contains("hunter2secret"),
        "{error:#}"
    );
    let error = open("ftp://user:hunter2secret@host/x", None).unwrap_err();
    assert!(
        !format!("{error:#} {error:?}").contains("hunter2secret"),
        "{error:#}"
    );

    let store = ObjectBlobStore::open_with_environment(
        &BlobSettings {
            url: "s3://bucket/prefix".into(),
            endpoint: None,
        },
        [
            ("AWS_ACCESS_KEY_ID".to_owned(), "AKIDEXAMPLE".to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                "hunter2secret".to_owned(),
            ),
        ],
    )
    .unwrap();
    let debug = format!("{store:?}");
    assert!(
        !debug.contains("hunter2secret") && debug.contains("bucket"),
        "{debug}"
    );
}

fn open(url: &str, endpoint: Option<&str>) -> anyhow::Result<ObjectBlobStore> {
    let settings = BlobSettings {
        url: url.into(),
        endpoint: endpoint.map(Into::into),
    };
    ObjectBlobStore::open_with_environment(&settings, [])
}

/// A store and what is needed to look behind it.
struct Backend {
    store: ObjectBlobStore,
    place: Place,
}

enum Place {
    Local(tempfile::TempDir),
    S3 { endpoint: String, bucket: String },
}

impl Backend {
    fn local() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let store = ObjectBlobStore::open(&BlobSettings {
            url: format!("file://{}", directory.path().display()),
            endpoint: None,
        })
        .unwrap();
        Self {
            store,
            place: Place::Local(directory),
        }
    }

    /// A fresh bucket on the test S3 server, the store at `prefix` in it.
    async fn s3(prefix: &str) -> Self {
        let endpoint = std::env::var("LATCHKEY_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
            panic!(
                "LATCHKEY_TEST_S3_ENDPOINT is not set: run these tests through `make test` \
                 (scripts/with-services.sh), which starts an S3 server (moto) for them"
            )
        });
        let bucket = format!("latchkey-test-{}", uuid::Uuid::new_v4().simple());
        // moto takes an unsigned request; the store's own requests are signed.
        let response = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap_or_else(|error| panic!("creating a bucket on {endpoint}: {error}"));
        assert!(
            response.status().is_success(),
            "creating a bucket: {}",
            response.status()
        );
        let url = format!("s3://{bucket}/{prefix}");
        let store = Self::open_s3(&endpoint, &url);
        Self {
            store,
            place: Place::S3 { endpoint, bucket },
        }
    }

    /// The store at `url` on `endpoint`, configured as a deployment would be: the AWS
    /// settings from an environment (this one, since a test cannot safely set its own).
    fn open_s3(endpoint: &str, url: &str) -> ObjectBlobStore {
        let environment = [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ]
        .map(|(key, value)| (key.to_owned(), value.to_owned()));
        let settings = BlobSettings {
            url: url.into(),
            endpoint: Some(endpoint.into()),
        };
        ObjectBlobStore::open_with_environment(&settings, environment).unwrap()
    }

    /// What an unfinished upload leaves: files not yet renamed into place under the local
    /// directory (`<key>#<n>`), multipart uploads neither completed nor aborted in the bucket.
    async fn pending(&self) -> Vec<String> {
        match &self.place {
            Place::Local(directory) => files_under(directory.path())
                .into_iter()
                .filter(|file| file.to_string_lossy().contains('#'))
                .map(|file| file.display().to_string())
                .collect(),
            Place::S3 { endpoint, bucket } => {
                let listing = reqwest::get(format!("{endpoint}/{bucket}?uploads"))
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                listing
                    .split("<Upload>")
                    .skip(1)
                    .map(|upload| {
                        upload
                            .split("</Upload>")
                            .next()
                            .unwrap_or_default()
                            .to_owned()
                    })
                    .collect()
            }
        }
    }

    async fn assert_nothing_pending(&self) {
        assert_eq!(self.pending().await, Vec::<String>::new());
    }

    /// Nothing stored and nothing pending: every file in the directory, every object and
    /// multipart upload in the bucket.
    async fn assert_empty(&self) {
        self.assert_nothing_pending().await;
        match &self.place {
            Place::Local(directory) => {
                assert_eq!(files_under(directory.path()), Vec::<PathBuf>::new());
            }
            Place::S3 { endpoint, bucket } => {
                let listing = reqwest::get(format!("{endpoint}/{bucket}?list-type=2"))
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert!(!listing.contains("<Key>"), "{listing}");
            }
        }
    }

    async fn assert_something_pending(&self) {
        assert!(!self.pending().await.is_empty(), "no upload in progress");
    }
}

fn files_under(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn new_key() -> BlobKey {
    BlobKey::generate(ApplicationId::generate())
}

/// `len` bytes that differ from one offset to the next and from one `seed` to another, so a
/// misplaced range or a part written twice shows.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// `data` in pieces of 64 KiB, as an upload arrives.
fn body(data: &[u8]) -> ByteStream {
    stream::iter(pieces(data).map(Ok)).boxed()
}

/// `data` in pieces, then an error, as an upload whose client goes away.
fn failing_body(data: &[u8]) -> ByteStream {
    let error = stream::once(future::ready(Err(anyhow::anyhow!("the client went away"))));
    stream::iter(pieces(data).map(Ok)).chain(error).boxed()
}

fn pieces(data: &[u8]) -> impl Iterator<Item = Bytes> + Send + 'static {
    let data = Bytes::copy_from_slice(data);
    (0..data.len())
        .step_by(PIECE)
        .map(move |start| data.slice(start..(start + PIECE).min(data.len())))
}

async fn read(
    store: &ObjectBlobStore,
    key: &BlobKey,
    range: Option<Range<u64>>,
) -> Option<Vec<u8>> {
    let stream = store.get(key, range).await.unwrap()?;
    let pieces: Vec<Bytes> = stream.try_collect().await.unwrap();
    Some(pieces.concat())
}

/// Polls `condition` until it holds, for at most 30 s: the abort of an abandoned upload runs
/// in a task of its own, which nothing can await.
async fn eventually<F: AsyncFn() -> bool>(what: &str, condition: F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
