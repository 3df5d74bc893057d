//! The files' bytes: [`domain::file::BlobStore`] on the `object_store` crate.
