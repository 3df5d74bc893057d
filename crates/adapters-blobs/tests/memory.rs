//! An upload holds a few parts of its body in memory, never the body: measured as this
//! process's peak resident size, so this is the only test in its binary. The S3 server is
//! `LATCHKEY_TEST_S3_ENDPOINT`, which `make test` (scripts/with-services.sh) provides.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapters_blobs::{BlobSettings, ObjectBlobStore};
use bytes::Bytes;
use domain::file::{BlobKey, BlobStore};
use domain::values::ApplicationId;
use futures_util::{StreamExt as _, stream};

const MIB: usize = 1024 * 1024;

/// Three 8 MiB parts (one filling, two uploading), with room for the test binary itself.
const PEAK_LIMIT: usize = 64 * MIB;

#[tokio::test]
async fn uploads_of_hundreds_of_mebibytes_stay_within_a_few_parts_of_memory() {
    let endpoint = std::env::var("LATCHKEY_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "LATCHKEY_TEST_S3_ENDPOINT is not set: run these tests through `make test` \
             (scripts/with-services.sh), which starts an S3 server (moto) for them"
        )
    });
    let directory = tempfile::tempdir().unwrap();
    let local = ObjectBlobStore::open(&BlobSettings {
        url: format!("file://{}", directory.path().display()),
        endpoint: None,
    })
    .unwrap();
    upload(&local, 256 * MIB).await;

    let bucket = format!("latchkey-test-{}", uuid::Uuid::new_v4().simple());
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "creating a bucket: {}",
        created.status()
    );
    let environment = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ]
    .map(|(key, value)| (key.to_owned(), value.to_owned()));
    let settings = BlobSettings {
        url: format!("s3://{bucket}"),
        endpoint: Some(endpoint),
    };
    let s3 = ObjectBlobStore::open_with_environment(&settings, environment).unwrap();
    upload(&s3, 128 * MIB).await;
}

/// Uploads `size` bytes, each 64 KiB piece a fresh allocation (as a request body's are: a
/// store keeping them would show in the peak), then checks the peak so far.
async fn upload(store: &ObjectBlobStore, size: usize) {
    const PIECE: usize = 64 * 1024;
    let body = stream::iter((0..size / PIECE).map(|i| Ok(Bytes::from(vec![i as u8; PIECE]))));
    store
        .put(&BlobKey::generate(ApplicationId::generate()), body.boxed())
        .await
        .unwrap();
    let peak = peak_resident_size();
    assert!(
        peak < PEAK_LIMIT,
        "peak resident size {} MiB after uploading {} MiB",
        peak / MIB,
        size / MIB
    );
}

/// `VmHWM` of /proc/self/status: the most this process has held in RAM.
fn peak_resident_size() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().strip_suffix(" kB"))
        .unwrap()
        .trim()
        .parse::<usize>()
        .unwrap();
    kib * 1024
}
