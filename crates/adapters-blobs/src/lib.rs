//! The files' bytes: [`domain::file::BlobStore`] on the `object_store` crate.
//!
//! Where the bytes go is one URL ([`BlobSettings::url`]):
//! - `file://` followed by a directory path, taken as written (no percent-decoding):
//!   `file:///var/lib/latchkey/files` is absolute, `file://./data/files` or `file://data/files`
//!   is relative to the working directory at [`ObjectBlobStore::open`]. The directory is
//!   created when missing. One replica only: the directory is not shared.
//! - `s3://bucket` or `s3://bucket/some/prefix`: an S3 bucket, every key under the prefix when
//!   one is given. Credentials and region come from the standard AWS environment
//!   (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` or
//!   `AWS_DEFAULT_REGION` (default `us-east-1`), web identity, the instance's role…), never
//!   from the URL. [`BlobSettings::endpoint`] names a server other than AWS (MinIO, R2, Ceph,
//!   moto): requests then go to `endpoint/bucket/key` (path style), over plain HTTP if the
//!   endpoint says `http://`.
//!
//! Why `object_store`: it is the Apache Arrow project's, maintained there and used by
//! DataFusion, delta-rs and others; one API covers local disk, S3, GCS and Azure, so another
//! backend is a new URL form here and nothing elsewhere; and it writes in streamed multipart
//! uploads, so a file is never whole in memory.

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use bytes::Bytes;
use domain::file::{BlobKey, BlobStore, ByteStream};
use futures_util::{StreamExt as _, TryStreamExt as _, future, stream};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    GetOptions, GetRange, GetResultPayload, MultipartUpload, ObjectStore, ObjectStoreExt as _,
    PutPayload, PutResult, UploadPart, WriteMultipart,
};
use std::ops::Range;
use std::sync::Arc;
use url::Url;

/// A multipart upload sends the body in parts of this size. S3 wants at least 5 MiB for every
/// part but the last, and R2 the same size for all of them.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts uploading at once. While they are, the next part fills, so an upload holds at most
/// `(PARTS_IN_FLIGHT + 1) × PART_SIZE` (24 MiB) of its body, whatever its size.
const PARTS_IN_FLIGHT: usize = 2;

/// Where the bytes go (see the [crate docs](crate) for the accepted forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSettings {
    /// `file://<directory>` or `s3://<bucket>[/<prefix>]`.
    pub url: String,
    /// For `s3://` only: the S3-compatible server to use instead of AWS, as
    /// `http(s)://host[:port]`.
    pub endpoint: Option<String>,
}

/// [`BlobStore`] over a local directory or an S3 bucket.
#[derive(Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    /// Where, for `Debug`: the directory, or the bucket and prefix.
    place: String,
}

impl std::fmt::Debug for ObjectBlobStore {
    // Not the stores' own `Debug`: the S3 client's configuration holds the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ObjectBlobStore").field(&self.place).finish()
    }
}

impl ObjectBlobStore {
    /// The store `settings` name, the AWS settings taken from the process's environment.
    ///
    /// # Errors
    /// A URL of another form, an endpoint given for a `file://` URL, a directory that cannot be
    /// created, or an S3 configuration `object_store` refuses. Nothing is contacted yet: a
    /// bucket that does not exist, or wrong credentials, show on the first call.
    pub fn open(settings: &BlobSettings) -> anyhow::Result<Self> {
        let environment = std::env::vars_os()
            .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)));
        Self::open_with_environment(settings, environment)
    }

    /// [`open`](Self::open), the `AWS_*` settings read from `environment` instead of the
    /// process's, as `AmazonS3Builder::from_env` reads them (for tests, which cannot change
    /// their own environment safely).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with_environment(
        settings: &BlobSettings,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let url = settings.url.trim();
        let (store, place) = if let Some(directory) = url.strip_prefix("file://") {
            if settings.endpoint.is_some() {
                bail!("a blob store endpoint applies to s3:// URLs only, not to file://");
            }
            let local = local(directory)?;
            let place = local.to_string();
            (Arc::new(local) as Arc<dyn ObjectStore>, place)
        } else if url.starts_with("s3://") {
            s3(url, settings.endpoint.as_deref(), environment)?
        } else {
            // The URL itself is not repeated: it may hold a secret someone put there.
            let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
            bail!(
                "unsupported blob store URL (scheme {scheme:?}): expected file:///absolute/dir, \
                 file://relative/dir or s3://bucket[/prefix]"
            );
        };
        Ok(Self { store, place })
    }
}

/// How much of a local file one read takes.
const FILE_PIECE: u64 = 1024 * 1024;

/// Reads `range` of a local file in [`FILE_PIECE`]s, each on the blocking pool.
/// `object_store` reads a local file 8 KiB at a time, each read a hop to another thread:
/// downloads ran at a twentieth of `cp`'s speed, most of it in context switches.
fn read_file(
    file: std::fs::File,
    range: Range<u64>,
    key: String,
) -> impl futures_util::Stream<Item = anyhow::Result<Bytes>> + Send + 'static {
    stream::try_unfold((file, range), move |(mut file, range)| {
        let key = key.clone();
        async move {
            if range.start >= range.end {
                return Ok(None);
            }
            let start = range.start;
            let len = usize::try_from((range.end - start).min(FILE_PIECE))
                .context("a piece larger than memory")?;
            let (file, piece) = tokio::task::spawn_blocking(move || {
                use std::io::{Read as _, Seek as _, SeekFrom};
                // Read into spare capacity: zeroing a piece first would write every byte
                // once more.
                let mut piece = Vec::with_capacity(len);
                file.seek(SeekFrom::Start(start))?;
                (&mut file).take(len as u64).read_to_end(&mut piece)?;
                if piece.len() < len {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                Ok::<_, std::io::Error>((file, piece))
            })
            .await
            .context("a blocking read stopped")?
            .with_context(|| format!("reading blob {key}"))?;
            let next = start + piece.len() as u64..range.end;
            Ok(Some((Bytes::from(piece), (file, next))))
        }
    })
}

fn local(directory: &str) -> anyhow::Result<LocalFileSystem> {
    if directory.is_empty() {
        bail!(
            "a file:// blob store URL names a directory: file:///absolute/dir or file://relative/dir"
        );
    }
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating the blob directory {directory}"))?;
    LocalFileSystem::new_with_prefix(directory)
        .with_context(|| format!("opening the blob directory {directory}"))
}

fn s3(
    url: &str,
    endpoint: Option<&str>,
    environment: impl IntoIterator<Item = (String, String)>,
) -> anyhow::Result<(Arc<dyn ObjectStore>, String)> {
    const FORM: &str = "expected s3://bucket or s3://bucket/prefix";
    let url = Url::parse(url).with_context(|| format!("parsing the blob store URL ({FORM})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        bail!(
            "an s3:// blob store URL holds no credentials: they come from AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY (or the instance's role)"
        );
    }
    if url.port().is_some() || url.query().is_some() || url.fragment().is_some() {
        bail!("unsupported s3:// blob store URL ({FORM}; a server is set by the endpoint setting)");
    }
    let bucket = match url.host_str() {
        Some(bucket) if !bucket.is_empty() => bucket,
        _ => bail!("the s3:// blob store URL names no bucket ({FORM})"),
    };
    let prefix = Path::from_url_path(url.path())
        .with_context(|| format!("the prefix of the s3:// blob store URL ({FORM})"))?;

    let mut builder = AmazonS3Builder::new();
    for (key, value) in environment {
        if key.starts_with("AWS_")
            && let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>()
        {
            builder = builder.with_config(key, value);
        }
    }
    builder = builder.with_bucket_name(bucket);
    if let Some(endpoint) = endpoint {
        // A custom server seldom has a DNS name per bucket: `endpoint/bucket/key`.
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
        if endpoint.starts_with("http://") {
            builder = builder.with_allow_http(true);
        }
    }
    let s3 = builder.build().context("configuring the S3 blob store")?;
    let place = format!("s3://{bucket}/{prefix}");
    Ok(if prefix.parts().next().is_none() {
        (Arc::new(s3), place)
    } else {
        (Arc::new(PrefixStore::new(s3, prefix)), place)
    })
}

fn location(key: &BlobKey) -> anyhow::Result<Path> {
    Path::parse(key.as_str())
        .with_context(|| format!("blob key {:?} is not a valid object path", key.as_str()))
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, key: &BlobKey, mut body: ByteStream) -> anyhow::Result<()> {
        let location = location(key)?;
        let context = || format!("storing blob {}", key.as_str());

        // Up to one part is gathered first. A body that ends within it (most files, and every
        // empty one: S3 refuses to complete a multipart upload of no parts) goes in one plain
        // PUT, with no upload to create, complete or abort; one that fails within it has sent
        // nothing.
        let mut first = Vec::new();
        let mut gathered = 0;
        while gathered < PART_SIZE {
            match body.next().await {
                Some(Ok(bytes)) => {
                    gathered += bytes.len();
                    first.push(bytes);
                }
                Some(Err(error)) => return Err(error.context(context())),
                None => {
                    let payload: PutPayload = first.into_iter().collect();
                    self.store
                        .put(&location, payload)
                        .await
                        .with_context(context)?;
                    return Ok(());
                }
            }
        }

        let upload = self
            .store
            .put_multipart(&location)
            .await
            .with_context(context)?;
        let upload = Box::new(AbortOnDrop(Some(upload)));
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let written = async {
            for bytes in first {
                write(&mut writer, bytes).await?;
            }
            while let Some(bytes) = body.next().await {
                write(&mut writer, bytes?).await?;
            }
            anyhow::Ok(())
        }
        .await;
        match written {
            // `finish` aborts the upload itself when completing it fails; when the last part
            // fails, it drops it, and `AbortOnDrop` aborts it.
            Ok(()) => writer.finish().await.map(drop).with_context(context),
            Err(error) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(key = key.as_str(), error = %abort, "aborting a failed upload");
                }
                Err(error.context(context()))
            }
        }
    }

    async fn get(
        &self,
        key: &BlobKey,
        range: Option<Range<u64>>,
    ) -> anyhow::Result<Option<ByteStream>> {
        let location = location(key)?;
        let context = || format!("reading blob {}", key.as_str());
        if let Some(range) = &range
            && range.is_empty()
        {
            // Stores refuse an empty range; the answer is no bytes, if the blob exists.
            return match self.store.head(&location).await {
                Ok(_) => Ok(Some(stream::empty().boxed())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(anyhow::Error::new(error).context(context())),
            };
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        match self.store.get_opts(&location, options).await {
            Ok(result) => {
                let key = key.as_str().to_owned();
                let range = result.range.clone();
                Ok(Some(match result.payload {
                    GetResultPayload::File(file, _) => read_file(file, range, key).boxed(),
                    GetResultPayload::Stream(bytes) => bytes
                        .map_err(move |error| {
                            anyhow::Error::new(error).context(format!("reading blob {key}"))
                        })
                        .boxed(),
                }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(anyhow::Error::new(error).context(context())),
        }
    }

    async fn delete(&self, key: &BlobKey) -> anyhow::Result<()> {
        let location = location(key)?;
        match self.store.delete(&location).await {
            // S3 answers a missing key with success; the local store with `NotFound`.
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => {
                Err(anyhow::Error::new(error).context(format!("deleting blob {}", key.as_str())))
            }
        }
    }
}

/// Hands `bytes` to `writer` at most a part at a time, each once fewer than
/// [`PARTS_IN_FLIGHT`] parts are uploading: `WriteMultipart::put` alone starts every part it
/// fills at once, however many are already on their way.
async fn write(writer: &mut WriteMultipart, mut bytes: Bytes) -> object_store::Result<()> {
    while !bytes.is_empty() {
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.put(bytes.split_to(bytes.len().min(PART_SIZE)));
    }
    Ok(())
}

/// A multipart upload aborted when dropped before it completed: when `put`'s future is
/// dropped mid-way (a client gone mid-upload), which no error path sees, and when
/// `WriteMultipart::finish` fails on a part. S3 keeps, and bills, the parts of an upload
/// neither completed nor aborted until a lifecycle rule removes them.
#[derive(Debug)]
struct AbortOnDrop(Option<Box<dyn MultipartUpload>>);

fn already_finished() -> object_store::Error {
    object_store::Error::Generic {
        store: "adapters-blobs",
        source: "the multipart upload is already completed or aborted".into(),
    }
}

#[async_trait]
impl MultipartUpload for AbortOnDrop {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        match &mut self.0 {
            Some(upload) => upload.put_part(data),
            None => Box::pin(future::ready(Err(already_finished()))),
        }
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let upload = self.0.as_mut().ok_or_else(already_finished)?;
        let result = upload.complete().await?;
        self.0 = None;
        Ok(result)
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        match self.0.take() {
            Some(mut upload) => upload.abort().await,
            None => Ok(()),
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(mut upload) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(error) = upload.abort().await {
                    tracing::warn!(%error, "aborting an abandoned upload");
                }
            });
        }
    }
}
