//! Keys at rest, signatures and encrypted files: the sealing helper, Ed25519 key pairs, and
//! the format of files stored encrypted under an application's files key.

pub mod file_encryption;
pub mod sealing;
pub mod signing;

pub use file_encryption::{
    CHUNK_LEN, DecryptError, FilesKey, FilesKeyError, HEADER_LEN, MAGIC, TAG_LEN, decrypt,
    encrypt_stream, encrypted_len,
};
pub use sealing::{MasterKey, SealError};
pub use signing::{ClientKeyPair, PublicKey, SealedKeyPair};
