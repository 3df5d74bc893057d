//! Keys at rest and signatures: the sealing helper and Ed25519 key pairs.

pub mod sealing;
pub mod signing;

pub use sealing::{MasterKey, SealError};
pub use signing::{ClientKeyPair, PublicKey, SealedKeyPair};
