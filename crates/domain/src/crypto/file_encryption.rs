//! The encrypted file format: how a file stored encrypted is laid out, the per-application
//! key it is encrypted with, and the encryption itself.
//!
//! An application may keep its files encrypted under a 32-byte AES-256 *files key*. The server
//! encrypts at upload, stores and serves the ciphertext; the vendor's program, which embeds the
//! key, decrypts. Both sides go a chunk at a time, so a file of any size is never whole in
//! memory, and every chunk is authenticated, its place in the file and the end of the file
//! included: the STREAM construction (Hoang, Reyhanitabar, Rogaway and Vizár, "Online
//! Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance"), as the `aead` crate's
//! [`StreamBE32`](aes_gcm::aead::stream::StreamBE32) implements it over AES-256-GCM.
//!
//! # Format v1
//!
//! ```text
//! header (19 bytes) = "LKE1" (4 ASCII bytes, the magic)
//!                   ‖ key id (8 bytes: the first 8 bytes of SHA-256 of the 32-byte key)
//!                   ‖ nonce prefix (7 random bytes, new for every file)
//! then chunk 0 ‖ chunk 1 ‖ … ‖ chunk n-1
//! chunk i           = AES-256-GCM(key, nonce i, plaintext chunk i, associated data = header)
//!                   = ciphertext (as long as the plaintext chunk) ‖ tag (16 bytes)
//! nonce i (12 bytes) = nonce prefix ‖ i as 4 bytes big-endian ‖ 0x01 for the last chunk, else 0x00
//! ```
//!
//! The plaintext is cut into chunks of exactly [`CHUNK_LEN`] (65536) bytes; the last one holds
//! 0 to 65536 bytes. An empty plaintext is one empty last chunk; a plaintext whose length is a
//! multiple of 65536 ends with a full chunk flagged last, with no empty chunk after it. So an
//! encrypted file is [`encrypted_len`]`(n) = 19 + n + 16 × max(1, ⌈n / 65536⌉)` bytes long.
//!
//! To decrypt: check the magic, compare the key id with the key's (a mismatch means the wrong
//! key, not damage), then read chunks of 65552 bytes; a chunk is the last one when nothing
//! follows it. Any chunk that does not open, a last chunk that was not encrypted as last
//! (truncation at a chunk boundary) and anything after the last chunk mean the file was
//! damaged or tampered with. Plaintext already written out before such an error must be thrown
//! away.

use super::sealing::{MasterKey, SealError};
use crate::file::ByteStream;
use crate::values::ApplicationId;
use crate::values::secret::random_bytes;
use aes_gcm::aead::stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::aead::{KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key};
use bytes::{Buf as _, Bytes, BytesMut};
use data_encoding::{HEXLOWER, HEXLOWER_PERMISSIVE};
use futures_util::StreamExt as _;
use sha2::{Digest as _, Sha256};
use std::fmt;
use thiserror::Error;
use zeroize::Zeroizing;

/// The first 4 bytes of every encrypted file (format v1).
pub const MAGIC: [u8; 4] = *b"LKE1";
/// Magic, key id and nonce prefix.
pub const HEADER_LEN: usize = 19;
/// The plaintext length of every chunk but the last.
pub const CHUNK_LEN: usize = 65536;
/// The AES-GCM tag that ends every chunk.
pub const TAG_LEN: usize = 16;

const KEY_ID_LEN: usize = 8;
const NONCE_PREFIX_LEN: usize = 7;

/// An application's key for its encrypted files. Only its key id ever prints.
#[derive(Clone)]
pub struct FilesKey(Zeroizing<[u8; Self::LEN]>);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FilesKeyError {
    #[error("a files key must be 32 bytes")]
    Length,
    #[error("a files key must be 64 hexadecimal digits")]
    Hex,
}

impl fmt::Debug for FilesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FilesKey(id {})", HEXLOWER.encode(&self.key_id()))
    }
}

impl FilesKey {
    pub const LEN: usize = 32;

    /// 32 fresh bytes from the operating system's CSPRNG.
    #[must_use]
    pub fn generate() -> Self {
        Self(Zeroizing::new(random_bytes()))
    }

    /// # Errors
    /// [`FilesKeyError::Length`] unless `bytes` holds exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FilesKeyError> {
        if bytes.len() != Self::LEN {
            return Err(FilesKeyError::Length);
        }
        let mut key = Zeroizing::new([0_u8; Self::LEN]);
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    /// The key as 64 hexadecimal digits, upper or lower case, surrounding whitespace ignored.
    ///
    /// # Errors
    /// [`FilesKeyError::Hex`] for anything else.
    pub fn parse_hex(hex: &str) -> Result<Self, FilesKeyError> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 2 * Self::LEN {
            return Err(FilesKeyError::Hex);
        }
        let mut key = Zeroizing::new([0_u8; Self::LEN]);
        HEXLOWER_PERMISSIVE
            .decode_mut(hex, key.as_mut())
            .map_err(|_| FilesKeyError::Hex)?;
        Ok(Self(key))
    }

    /// The key in lower-case hexadecimal: how a vendor sees it and embeds it in a program.
    #[must_use]
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(HEXLOWER.encode(self.0.as_ref()))
    }

    /// The first 8 bytes of the key's SHA-256, written in every file's header so that the
    /// wrong key is told apart from a damaged file.
    #[must_use]
    pub fn key_id(&self) -> [u8; KEY_ID_LEN] {
        let digest = Sha256::digest(self.0.as_ref());
        let mut id = [0_u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        id
    }

    /// What the key is sealed for under the master key: `files-key:<application id>`.
    #[must_use]
    pub fn purpose(app: ApplicationId) -> String {
        format!("files-key:{app}")
    }

    /// The key sealed under `master` for the application `app`, to be stored.
    ///
    /// # Errors
    /// Only when sealing fails, which it does not for 32 bytes.
    pub fn seal(&self, master: &MasterKey, app: ApplicationId) -> Result<Vec<u8>, SealError> {
        master.seal(&Self::purpose(app), self.0.as_ref())
    }

    /// # Errors
    /// [`SealError::Unopenable`] when `sealed` does not open under `master` for `app`, or
    /// does not hold a files key.
    pub fn open(master: &MasterKey, app: ApplicationId, sealed: &[u8]) -> Result<Self, SealError> {
        let bytes = master.open(&Self::purpose(app), sealed)?;
        Self::from_bytes(&bytes).map_err(|_| SealError::Unopenable)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.0.as_ref()))
    }

    fn header(&self, nonce_prefix: &[u8; NONCE_PREFIX_LEN]) -> [u8; HEADER_LEN] {
        let mut header = [0_u8; HEADER_LEN];
        header[..4].copy_from_slice(&MAGIC);
        header[4..4 + KEY_ID_LEN].copy_from_slice(&self.key_id());
        header[4 + KEY_ID_LEN..].copy_from_slice(nonce_prefix);
        header
    }
}

/// The length of the encrypted file for a plaintext of `plaintext_len` bytes.
#[must_use]
pub const fn encrypted_len(plaintext_len: u64) -> u64 {
    let chunks = if plaintext_len == 0 {
        1
    } else {
        plaintext_len.div_ceil(CHUNK_LEN as u64)
    };
    (HEADER_LEN as u64)
        .saturating_add(plaintext_len)
        .saturating_add(chunks.saturating_mul(TAG_LEN as u64))
}

/// `plaintext` encrypted under `key` as it arrives, with a fresh nonce prefix: the header
/// first, then one piece per chunk. Input of any piece sizes is held only until a chunk (and
/// the first byte after it, which shows it is not the last) has arrived. An error from
/// `plaintext` is passed on and ends the stream.
#[must_use]
pub fn encrypt_stream(key: &FilesKey, plaintext: ByteStream) -> ByteStream {
    encrypt_stream_with_prefix(key, random_bytes(), plaintext)
}

/// [`encrypt_stream`] with a given nonce prefix, for test vectors. A prefix must never be
/// used twice with one key.
pub(crate) fn encrypt_stream_with_prefix(
    key: &FilesKey,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    plaintext: ByteStream,
) -> ByteStream {
    let header = key.header(&nonce_prefix);
    let state = Encrypting {
        input: plaintext,
        header: Some(Bytes::copy_from_slice(&header)),
        aad: header,
        encryptor: Some(EncryptorBE32::from_aead(
            key.cipher(),
            nonce_prefix.as_slice().into(),
        )),
        pending: BytesMut::new(),
    };
    futures_util::stream::unfold(state, Encrypting::next_piece).boxed()
}

struct Encrypting {
    input: ByteStream,
    /// The header, until it has been sent.
    header: Option<Bytes>,
    aad: [u8; HEADER_LEN],
    /// `None` once the last chunk or an error has been sent.
    encryptor: Option<EncryptorBE32<Aes256Gcm>>,
    /// Plaintext received and not yet encrypted.
    pending: BytesMut,
}

impl Encrypting {
    async fn next_piece(mut self) -> Option<(anyhow::Result<Bytes>, Self)> {
        if let Some(header) = self.header.take() {
            return Some((Ok(header), self));
        }
        let mut encryptor = self.encryptor.take()?;
        loop {
            // A full chunk is encrypted only once a byte after it shows it is not the last.
            if self.pending.len() > CHUNK_LEN {
                let payload = Payload {
                    msg: &self.pending[..CHUNK_LEN],
                    aad: &self.aad,
                };
                let Ok(chunk) = encryptor.encrypt_next(payload) else {
                    return Some((Err(too_large()), self));
                };
                self.pending.advance(CHUNK_LEN);
                self.encryptor = Some(encryptor);
                return Some((Ok(chunk.into()), self));
            }
            match self.input.next().await {
                Some(Ok(piece)) => self.pending.extend_from_slice(&piece),
                Some(Err(error)) => return Some((Err(error), self)),
                None => {
                    let payload = Payload {
                        msg: &self.pending,
                        aad: &self.aad,
                    };
                    let result = encryptor.encrypt_last(payload);
                    self.pending = BytesMut::new();
                    return Some((result.map(Bytes::from).map_err(|_| too_large()), self));
                }
            }
        }
    }
}

/// STREAM's 32-bit counter runs out after 2³² chunks (256 TiB); AES-GCM refuses nothing else.
fn too_large() -> anyhow::Error {
    anyhow::anyhow!("the file is too large to encrypt")
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecryptError {
    /// No `LKE1` magic, or shorter than a header.
    #[error("not a Latchkey encrypted file (format v1)")]
    UnknownFormat,
    /// The header's key id is not this key's.
    #[error("the file was encrypted with another key")]
    WrongKey,
    /// A chunk does not open, the last chunk is missing, or bytes follow it.
    #[error("the encrypted file is damaged, truncated or tampered with")]
    Damaged,
}

/// The plaintext of a whole encrypted file held in memory.
///
/// # Errors
/// [`DecryptError::UnknownFormat`], [`DecryptError::WrongKey`] or [`DecryptError::Damaged`].
pub fn decrypt(key: &FilesKey, ciphertext: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let (header, mut rest) = ciphertext
        .split_first_chunk::<HEADER_LEN>()
        .filter(|(header, _)| header.starts_with(&MAGIC))
        .ok_or(DecryptError::UnknownFormat)?;
    if header[4..4 + KEY_ID_LEN] != key.key_id() {
        return Err(DecryptError::WrongKey);
    }
    let nonce_prefix = &header[4 + KEY_ID_LEN..];
    let mut decryptor = DecryptorBE32::from_aead(key.cipher(), nonce_prefix.into());
    let mut plaintext = Vec::with_capacity(rest.len());
    // Whatever is longer than a full chunk cannot be the last one; a full last chunk followed
    // by stray bytes therefore fails as a chunk that claims to be followed.
    while let Some((chunk, tail)) = rest
        .split_at_checked(CHUNK_LEN + TAG_LEN)
        .filter(|(_, tail)| !tail.is_empty())
    {
        let payload = Payload {
            msg: chunk,
            aad: header,
        };
        let opened = decryptor
            .decrypt_next(payload)
            .map_err(|_| DecryptError::Damaged)?;
        plaintext.extend_from_slice(&opened);
        rest = tail;
    }
    let payload = Payload {
        msg: rest,
        aad: header,
    };
    let opened = decryptor
        .decrypt_last(payload)
        .map_err(|_| DecryptError::Damaged)?;
    plaintext.extend_from_slice(&opened);
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::Nonce;
    use aes_gcm::aead::Aead as _;
    use futures_util::stream;
    use proptest::prelude::*;
    use std::future::Future;

    const LENGTHS: [usize; 7] = [
        0,
        1,
        CHUNK_LEN - 1,
        CHUNK_LEN,
        CHUNK_LEN + 1,
        3 * CHUNK_LEN,
        3 * CHUNK_LEN + 5,
    ];
    const PREFIX: [u8; NONCE_PREFIX_LEN] = [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6];

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn vector_key() -> FilesKey {
        let bytes: Vec<u8> = (0..32).collect();
        FilesKey::from_bytes(&bytes).unwrap()
    }

    fn plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    /// The output pieces of encrypting `plaintext` handed over in pieces of `sizes` (cycled).
    fn encrypt_pieces(
        key: &FilesKey,
        prefix: Option<[u8; NONCE_PREFIX_LEN]>,
        plaintext: &[u8],
        sizes: &[usize],
    ) -> Vec<Bytes> {
        let mut pieces = Vec::new();
        let mut rest = plaintext;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at(size.clamp(1, rest.len()));
            pieces.push(Ok(Bytes::copy_from_slice(piece)));
            rest = tail;
        }
        let input = stream::iter(pieces).boxed();
        let output = match prefix {
            Some(prefix) => encrypt_stream_with_prefix(key, prefix, input),
            None => encrypt_stream(key, input),
        };
        block_on(output.collect::<Vec<_>>())
            .into_iter()
            .collect::<anyhow::Result<_>>()
            .unwrap()
    }

    fn encrypt(key: &FilesKey, plaintext: &[u8]) -> Vec<u8> {
        encrypt_pieces(key, None, plaintext, &[100_000]).concat()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn any_plaintext_in_any_pieces_round_trips_in_chunks(
            len in prop::sample::select(LENGTHS.to_vec()),
            sizes in prop::collection::vec(
                prop_oneof![1_usize..64, 1_usize..70_000, 65_536_usize..300_000],
                1..8,
            ),
        ) {
            let key = FilesKey::generate();
            let plaintext = plaintext(len);
            let pieces = encrypt_pieces(&key, None, &plaintext, &sizes);
            let chunks = len.div_ceil(CHUNK_LEN).max(1);
            prop_assert_eq!(pieces.len(), 1 + chunks);
            prop_assert_eq!(pieces[0].len(), HEADER_LEN);
            prop_assert!(pieces[1..chunks].iter().all(|p| p.len() == CHUNK_LEN + TAG_LEN));
            let ciphertext = pieces.concat();
            prop_assert_eq!(ciphertext.len() as u64, encrypted_len(len as u64));
            prop_assert_eq!(decrypt(&key, &ciphertext), Ok(plaintext));
        }
    }

    #[test]
    fn one_byte_pieces_across_a_chunk_boundary_round_trip() {
        let key = FilesKey::generate();
        let plaintext = plaintext(CHUNK_LEN + 1);
        let ciphertext = encrypt_pieces(&key, None, &plaintext, &[1]).concat();
        assert_eq!(decrypt(&key, &ciphertext), Ok(plaintext));
    }

    #[test]
    fn the_encrypted_length_adds_a_header_and_one_tag_per_chunk() {
        assert_eq!(encrypted_len(0), 35);
        assert_eq!(encrypted_len(1), 36);
        assert_eq!(encrypted_len(65_536), 19 + 65_536 + 16);
        assert_eq!(encrypted_len(65_537), 19 + 65_537 + 32);
        assert_eq!(encrypted_len(1 << 30), 19 + (1 << 30) + 16 * 16_384);
    }

    #[test]
    fn chunks_go_out_before_the_input_ends() {
        let endless = stream::repeat_with(|| Ok(Bytes::from_static(&[7; 1000]))).boxed();
        let first = block_on(
            encrypt_stream(&FilesKey::generate(), endless)
                .take(3)
                .collect::<Vec<_>>(),
        );
        let lengths: Vec<usize> = first.into_iter().map(|p| p.unwrap().len()).collect();
        assert_eq!(
            lengths,
            [HEADER_LEN, CHUNK_LEN + TAG_LEN, CHUNK_LEN + TAG_LEN]
        );
    }

    #[test]
    fn an_input_error_is_passed_on_and_ends_the_stream() {
        let input = stream::iter([
            Ok(Bytes::from(vec![1; CHUNK_LEN + 10])),
            Err(anyhow::anyhow!("disk on fire")),
            Ok(Bytes::from_static(b"never read")),
        ])
        .boxed();
        let output = block_on(encrypt_stream(&FilesKey::generate(), input).collect::<Vec<_>>());
        assert_eq!(output.len(), 3, "header, first chunk, error");
        assert_eq!(output[0].as_ref().unwrap().len(), HEADER_LEN);
        assert_eq!(output[1].as_ref().unwrap().len(), CHUNK_LEN + TAG_LEN);
        assert_eq!(output[2].as_ref().unwrap_err().to_string(), "disk on fire");
    }

    #[test]
    fn each_file_gets_its_own_nonce_prefix() {
        let key = FilesKey::generate();
        let (one, two) = (encrypt(&key, b"same"), encrypt(&key, b"same"));
        assert_eq!(one[..12], two[..12]);
        assert_ne!(one[12..], two[12..]);
    }

    #[test]
    fn the_nonces_are_prefix_big_endian_counter_and_last_flag() {
        let key = vector_key();
        let plaintext = plaintext(CHUNK_LEN + 3);
        let ciphertext = encrypt_pieces(&key, Some(PREFIX), &plaintext, &[4096]).concat();
        let header = &ciphertext[..HEADER_LEN];
        let cipher = key.cipher();
        let chunk = |counter: u32, last: u8, msg: &[u8]| {
            let mut nonce = PREFIX.to_vec();
            nonce.extend_from_slice(&counter.to_be_bytes());
            nonce.push(last);
            let payload = Payload { msg, aad: header };
            cipher.encrypt(Nonce::from_slice(&nonce), payload).unwrap()
        };
        let first = chunk(0, 0x00, &plaintext[..CHUNK_LEN]);
        let last = chunk(1, 0x01, &plaintext[CHUNK_LEN..]);
        assert_eq!(ciphertext, [header, &first, &last].concat());
    }

    #[test]
    fn the_short_test_vector_matches_an_independent_implementation() {
        let ciphertext =
            encrypt_pieces(&vector_key(), Some(PREFIX), b"Latchkey files v1\n", &[5]).concat();
        assert_eq!(
            HEXLOWER.encode(&ciphertext),
            "4c4b4531630dcd2966c43366a0a1a2a3a4a5a6\
             3b003d7dd06d85b92303b143aafd9b2e3601\
             c10143bb8ca919d1f94c6ea846043aa5"
        );
    }

    #[test]
    fn the_two_chunk_test_vector_matches_an_independent_implementation() {
        let ciphertext =
            encrypt_pieces(&vector_key(), Some(PREFIX), &plaintext(65_636), &[65_636]).concat();
        assert_eq!(ciphertext.len(), 65_687);
        assert_eq!(
            HEXLOWER.encode(&Sha256::digest(&ciphertext)),
            "541bc27e1754fd7647d30639df194ccd83e305687a78a4295dbcf76b61e3f0f3"
        );
    }

    /// Three chunks, the last one short.
    fn three_chunks() -> (FilesKey, Vec<u8>) {
        let key = FilesKey::generate();
        let ciphertext = encrypt(&key, &plaintext(2 * CHUNK_LEN + 100));
        (key, ciphertext)
    }

    const SEALED_CHUNK: usize = CHUNK_LEN + TAG_LEN;

    #[test]
    fn a_flipped_bit_anywhere_in_the_header_is_refused() {
        let (key, ciphertext) = three_chunks();
        for i in 0..HEADER_LEN {
            let mut tampered = ciphertext.clone();
            tampered[i] ^= 0x10;
            let expected = match i {
                0..4 => DecryptError::UnknownFormat,
                4..12 => DecryptError::WrongKey,
                _ => DecryptError::Damaged,
            };
            assert_eq!(decrypt(&key, &tampered), Err(expected), "byte {i}");
        }
    }

    #[test]
    fn a_flipped_bit_in_any_chunk_or_tag_is_refused() {
        let (key, ciphertext) = three_chunks();
        let last = ciphertext.len() - 1;
        let chunk_starts = [0, 1, 2].map(|i| HEADER_LEN + i * SEALED_CHUNK);
        let tags = [1, 2].map(|i| HEADER_LEN + i * SEALED_CHUNK - TAG_LEN);
        let positions = chunk_starts.into_iter().chain(tags).chain([last - 5, last]);
        for i in positions {
            let mut tampered = ciphertext.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                decrypt(&key, &tampered),
                Err(DecryptError::Damaged),
                "byte {i}"
            );
        }
    }

    #[test]
    fn swapped_chunks_are_refused() {
        let (key, ciphertext) = three_chunks();
        let (header, chunks) = ciphertext.split_at(HEADER_LEN);
        let (first, rest) = chunks.split_at(SEALED_CHUNK);
        let (second, last) = rest.split_at(SEALED_CHUNK);
        let swapped = [header, second, first, last].concat();
        assert_eq!(decrypt(&key, &swapped), Err(DecryptError::Damaged));
    }

    #[test]
    fn a_file_cut_short_is_refused() {
        let (key, ciphertext) = three_chunks();
        for len in [
            HEADER_LEN,
            HEADER_LEN + 1,
            HEADER_LEN + SEALED_CHUNK,
            HEADER_LEN + 2 * SEALED_CHUNK,
            ciphertext.len() - 1,
        ] {
            assert_eq!(
                decrypt(&key, &ciphertext[..len]),
                Err(DecryptError::Damaged),
                "{len} bytes"
            );
        }
        for len in [0, 3, HEADER_LEN - 1] {
            assert_eq!(
                decrypt(&key, &ciphertext[..len]),
                Err(DecryptError::UnknownFormat)
            );
        }
    }

    #[test]
    fn bytes_after_the_last_chunk_are_refused() {
        let key = FilesKey::generate();
        // A short last chunk, and a full one (the plaintext a multiple of the chunk length).
        for len in [2 * CHUNK_LEN + 100, 2 * CHUNK_LEN] {
            let ciphertext = encrypt(&key, &plaintext(len));
            let last_chunk = ciphertext[ciphertext.len() - SEALED_CHUNK..].to_vec();
            for extra in [&[0_u8][..], &[0; TAG_LEN], &last_chunk] {
                let longer = [&ciphertext[..], extra].concat();
                assert_eq!(decrypt(&key, &longer), Err(DecryptError::Damaged));
            }
        }
    }

    #[test]
    fn another_key_is_told_apart_from_damage() {
        let (_, ciphertext) = three_chunks();
        assert_eq!(
            decrypt(&FilesKey::generate(), &ciphertext),
            Err(DecryptError::WrongKey)
        );
    }

    #[test]
    fn a_files_key_is_32_bytes_or_64_hex_digits_and_never_prints() {
        let key = vector_key();
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        assert_eq!(key.to_hex().as_str(), hex);
        let parsed = FilesKey::parse_hex(&format!(" {} ", hex.to_uppercase())).unwrap();
        assert_eq!(parsed.to_hex().as_str(), hex);
        for bad in ["", &hex[2..], &format!("{hex}00"), &hex.replace('f', "g")] {
            assert_eq!(
                FilesKey::parse_hex(bad).map(|_| ()),
                Err(FilesKeyError::Hex)
            );
        }
        assert_eq!(
            FilesKey::from_bytes(&[0; 31]).map(|_| ()),
            Err(FilesKeyError::Length)
        );
        assert_eq!(format!("{key:?}"), "FilesKey(id 630dcd2966c43366)");
        assert_eq!(key.key_id()[..], Sha256::digest(key.0.as_ref())[..8]);
        assert_ne!(FilesKey::generate().to_hex(), FilesKey::generate().to_hex());
    }

    #[test]
    fn a_sealed_files_key_opens_for_its_application_only() {
        let master = MasterKey::from_bytes(MasterKey::generate_bytes().as_ref()).unwrap();
        let (app, other) = (ApplicationId::generate(), ApplicationId::generate());
        let key = FilesKey::generate();
        let sealed = key.seal(&master, app).unwrap();
        assert_eq!(
            FilesKey::open(&master, app, &sealed).unwrap().to_hex(),
            key.to_hex()
        );
        assert_eq!(
            FilesKey::open(&master, other, &sealed).map(|_| ()),
            Err(SealError::Unopenable)
        );
        assert_eq!(FilesKey::purpose(app), format!("files-key:{app}"));
        let not_a_key = master.seal(&FilesKey::purpose(app), &[1; 16]).unwrap();
        assert_eq!(
            FilesKey::open(&master, app, &not_a_key).map(|_| ()),
            Err(SealError::Unopenable)
        );
    }
}
