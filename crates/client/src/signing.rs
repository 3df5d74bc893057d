//! RFC 9421 on the client's side, as docs/signing.md pins it: verifying Latchkey's signed
//! answers against a pinned public key, making `Latchkey-Nonce` values, and signing requests
//! with the application's request-signing key. [`crate::Client`] does all of this on every
//! call; this module is public so that other code (and the shared test vectors in
//! `sdks/test-vectors.json`) can check the same steps on their own.

use data_encoding::{BASE64, BASE64URL_NOPAD, Encoding, Specification};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::RngCore as _;
use sfv::{BareItem, ListEntry, Parser};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::time::Duration;

/// The request header that binds an answer to one request.
pub const NONCE_HEADER: &str = "latchkey-nonce";
const LABEL: &str = "latchkey";
const RESPONSE_TAG: &str = "latchkey-response-v1";
const REQUEST_TAG: &str = "latchkey-request-v1";

/// Why an answer's signature was refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The answer has no `Content-Digest`, `Signature-Input` or `Signature` header.
    #[error("the answer is not signed (no {0} header)")]
    Missing(&'static str),
    /// `Content-Digest` is not the SHA-256 of the body as received.
    #[error("content-digest does not match the body")]
    DigestMismatch,
    /// No `Signature-Input` member names the pinned key.
    #[error("not signed by the pinned key")]
    NotSignedByPinnedKey,
    /// The member for the pinned key covers other components or has other parameters than
    /// this request calls for.
    #[error("unexpected Signature-Input: {0}")]
    UnexpectedInput(String),
    /// `created` is further from the client's clock than the tolerance.
    #[error("created ({created}) is more than {tolerance_seconds} s from our clock ({now})")]
    Stale {
        /// The answer's `created`, in Unix seconds.
        created: i64,
        /// The client's clock, in Unix seconds.
        now: i64,
        /// The tolerance it was checked with, in seconds.
        tolerance_seconds: u64,
    },
    /// A header is not a well-formed structured field.
    #[error("malformed {0} header")]
    Malformed(&'static str),
    /// The Ed25519 signature does not verify over the rebuilt signature base.
    #[error("the signature does not verify")]
    Invalid,
}

/// `sha-256=:<standard base64 of SHA-256(body)>:` (RFC 9530).
#[must_use]
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(&Sha256::digest(body)))
}

/// A fresh `Latchkey-Nonce`: 24 random bytes from the operating system, base64url without
/// padding (32 characters of `[A-Za-z0-9_-]`).
#[must_use]
pub fn new_nonce() -> String {
    let mut bytes = [0_u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    BASE64URL_NOPAD.encode(&bytes)
}

/// A public key's id as the server names it: `lk_key_` and the first 80 bits of the
/// SHA-256 of its 32 bytes, in lower-case Crockford base32.
#[must_use]
pub fn key_id(public_key: &[u8; 32]) -> String {
    let mut spec = Specification::new();
    spec.symbols.push_str("0123456789abcdefghjkmnpqrstvwxyz");
    let digest = Sha256::digest(public_key);
    let encoded = spec
        .encoding()
        .map(|crockford: Encoding| crockford.encode(&digest[..10]))
        // The alphabet is a valid 32-symbol specification; this arm only avoids a panic path.
        .unwrap_or_else(|_| {
            data_encoding::BASE32_NOPAD
                .encode(&digest[..10])
                .to_lowercase()
        });
    format!("lk_key_{encoded}")
}

fn decode_key(base64: &str) -> Option<[u8; 32]> {
    BASE64
        .decode(base64.trim().as_bytes())
        .ok()?
        .try_into()
        .ok()
}

/// The request an answer must be bound to: what the client sent, never what the answer says.
#[derive(Debug, Clone, Copy)]
pub struct SentRequest<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The path as the server received it, without the query string.
    pub path: &'a str,
    /// The `Latchkey-Nonce` sent, if any.
    pub nonce: Option<&'a str>,
    /// The request's own `latchkey` signature as a byte sequence (`:<base64>:`), when it was
    /// signed.
    pub signature: Option<&'a str>,
}

/// The parts of an answer the verifier reads.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedResponse<'a> {
    /// The status code.
    pub status: u16,
    /// The `Content-Digest` header.
    pub content_digest: Option<&'a str>,
    /// The `Signature-Input` header.
    pub signature_input: Option<&'a str>,
    /// The `Signature` header.
    pub signature: Option<&'a str>,
    /// The body exactly as received.
    pub body: &'a [u8],
}

/// Checks answers against one pinned response-signing public key.
#[derive(Clone)]
pub struct ResponseVerifier {
    key: VerifyingKey,
    key_id: String,
    tolerance: Duration,
}

impl fmt::Debug for ResponseVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseVerifier")
            .field("key_id", &self.key_id)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

/// The default tolerance between an answer's `created` and the client's clock: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

impl ResponseVerifier {
    /// A verifier for the public key as the server shows it (`response_signing_public_key`:
    /// standard base64 of 32 bytes). `None` when it is not such a key.
    #[must_use]
    pub fn new(public_key_base64: &str) -> Option<Self> {
        let bytes = decode_key(public_key_base64)?;
        let key = VerifyingKey::from_bytes(&bytes).ok()?;
        Some(Self {
            key,
            key_id: key_id(&bytes),
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// The same verifier, accepting a `created` at most `tolerance` from the clock.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The pinned key's id (`lk_key_…`), derived from the key.
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The signature base (RFC 9421 §2.5) and the `Signature-Input` member's value that a
    /// correct answer to `request` with `status` and `digest`, created at `created`, has.
    #[must_use]
    pub fn expected_base(
        &self,
        request: &SentRequest<'_>,
        status: u16,
        digest: &str,
        created: i64,
    ) -> (String, String) {
        let mut components = vec![
            (r#""@status""#.to_owned(), status.to_string()),
            (r#""content-digest""#.to_owned(), digest.to_owned()),
            (r#""@method";req"#.to_owned(), request.method.to_owned()),
            (r#""@path";req"#.to_owned(), request.path.to_owned()),
        ];
        if let Some(nonce) = request.nonce {
            components.push((r#""latchkey-nonce";req"#.to_owned(), nonce.to_owned()));
        }
        if let Some(signature) = request.signature {
            components.push((
                format!(r#""signature";req;key="{LABEL}""#),
                signature.to_owned(),
            ));
        }
        let ids: Vec<&str> = components.iter().map(|(id, _)| id.as_str()).collect();
        let params = format!(
            "({});created={created};keyid=\"{}\";alg=\"ed25519\";tag=\"{RESPONSE_TAG}\"",
            ids.join(" "),
            self.key_id
        );
        let mut base = String::new();
        for (id, value) in &components {
            base.push_str(&format!("{id}: {value}\n"));
        }
        base.push_str(&format!("\"@signature-params\": {params}"));
        (base, params)
    }

    /// Verifies one answer to `request`, with `now` as the clock (Unix seconds), following
    /// docs/signing.md step by step: the digest, the member for the pinned key id, its exact
    /// components and parameters, `created`, then the Ed25519 signature (strict).
    ///
    /// # Errors
    /// The first check that fails, as a [`SignatureError`].
    pub fn verify(
        &self,
        request: &SentRequest<'_>,
        response: &ReceivedResponse<'_>,
        now: i64,
    ) -> Result<(), SignatureError> {
        let digest = content_digest(response.body);
        let header = response
            .content_digest
            .ok_or(SignatureError::Missing("Content-Digest"))?;
        if header.trim() != digest {
            return Err(SignatureError::DigestMismatch);
        }
        let inputs = response
            .signature_input
            .ok_or(SignatureError::Missing("Signature-Input"))?;
        let signatures = response
            .signature
            .ok_or(SignatureError::Missing("Signature"))?;
        let inputs: sfv::Dictionary = Parser::new(inputs)
            .parse()
            .map_err(|_| SignatureError::Malformed("Signature-Input"))?;
        let signatures: sfv::Dictionary = Parser::new(signatures)
            .parse()
            .map_err(|_| SignatureError::Malformed("Signature"))?;
        let (label, covered) = inputs
            .iter()
            .find_map(|(label, entry)| match entry {
                ListEntry::InnerList(list)
                    if matches!(list.params.get("keyid"),
                        Some(BareItem::String(id)) if id.as_str() == self.key_id) =>
                {
                    Some((label, list))
                }
                _ => None,
            })
            .ok_or(SignatureError::NotSignedByPinnedKey)?;
        let created = match covered.params.get("created") {
            Some(BareItem::Integer(created)) => i64::from(*created),
            _ => return Err(SignatureError::UnexpectedInput("no created".into())),
        };
        let (base, params) = self.expected_base(request, response.status, &digest, created);
        let received = serialize_member(label.as_str(), covered)
            .ok_or(SignatureError::Malformed("Signature-Input"))?;
        if received != params {
            return Err(SignatureError::UnexpectedInput(received));
        }
        if now.abs_diff(created) > self.tolerance.as_secs() {
            return Err(SignatureError::Stale {
                created,
                now,
                tolerance_seconds: self.tolerance.as_secs(),
            });
        }
        let signature = match signatures.get(label.as_str()) {
            Some(ListEntry::Item(item)) => item
                .bare_item
                .as_byte_sequence()
                .ok_or(SignatureError::Malformed("Signature"))?,
            _ => return Err(SignatureError::Missing("Signature member")),
        };
        let signature =
            Signature::from_slice(signature).map_err(|_| SignatureError::Malformed("Signature"))?;
        self.key
            .verify_strict(base.as_bytes(), &signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

/// A `Signature-Input` member's value (what follows `label=`), as RFC 8941 serializes it.
fn serialize_member(label: &str, covered: &sfv::InnerList) -> Option<String> {
    use sfv::FieldType as _;
    let mut member = sfv::Dictionary::new();
    member.insert(
        sfv::Key::from_string(label.to_owned()).ok()?,
        ListEntry::InnerList(covered.clone()),
    );
    let serialized = member.serialize()?;
    serialized
        .strip_prefix(&format!("{label}="))
        .map(str::to_owned)
}

/// The headers that sign one request, and the signature the answer will be bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSignature {
    /// `Content-Digest`, when the request has a body.
    pub content_digest: Option<String>,
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Signature`.
    pub signature: String,
    /// The `latchkey` member of `Signature` as a byte sequence (`:<base64>:`), which a signed
    /// answer covers as `"signature";req;key="latchkey"`.
    pub member: String,
    /// The signature base that was signed.
    pub base: String,
}

/// What a request signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The path as the server receives it, without the query.
    pub path: &'a str,
    /// The query with its `?`; `?` alone when there is none.
    pub query: &'a str,
    /// The body; empty when there is none.
    pub body: &'a [u8],
    /// The application's `x-api-key`.
    pub api_key: &'a str,
}

/// Signs requests with the application's request-signing private key.
#[derive(Clone)]
pub struct RequestSigner {
    key: SigningKey,
    key_id: String,
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("key_id", &self.key_id)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl RequestSigner {
    /// A signer for the private key as the server shows it once (`request_signing_private_key`:
    /// standard base64 of a 32-byte Ed25519 seed). `None` when it is not such a key.
    #[must_use]
    pub fn new(private_key_base64: &str) -> Option<Self> {
        let seed = decode_key(private_key_base64)?;
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(&key.verifying_key().to_bytes());
        Some(Self { key, key_id })
    }

    /// The key's id (`lk_key_…`), as the server shows it in `request_signing_key_id`.
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Signs a request, with `created` in Unix seconds and a fresh `nonce`. Covers `"@method" "@path" "@query" "content-digest" "x-api-key"`, leaving
    /// `"content-digest"` out when there is no body.
    #[must_use]
    pub fn sign(&self, request: &RequestToSign<'_>, created: i64, nonce: &str) -> RequestSignature {
        let RequestToSign {
            method,
            path,
            query,
            body,
            api_key,
        } = *request;
        let content_digest = (!body.is_empty()).then(|| content_digest(body));
        let mut components = vec![
            ("@method", method.to_owned()),
            ("@path", path.to_owned()),
            ("@query", query.to_owned()),
        ];
        if let Some(digest) = &content_digest {
            components.push(("content-digest", digest.clone()));
        }
        components.push(("x-api-key", api_key.to_owned()));
        let names: Vec<String> = components
            .iter()
            .map(|(name, _)| format!("\"{name}\""))
            .collect();
        let params = format!(
            "({});created={created};nonce=\"{nonce}\";keyid=\"{}\";alg=\"ed25519\";tag=\"{REQUEST_TAG}\"",
            names.join(" "),
            self.key_id
        );
        let mut base = String::new();
        for (name, value) in &components {
            base.push_str(&format!("\"{name}\": {value}\n"));
        }
        base.push_str(&format!("\"@signature-params\": {params}"));
        let member = format!(
            ":{}:",
            BASE64.encode(&self.key.sign(base.as_bytes()).to_bytes())
        );
        RequestSignature {
            content_digest,
            signature_input: format!("{LABEL}={params}"),
            signature: format!("{LABEL}={member}"),
            member,
            base,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    // The worked example of docs/signing.md, captured from a real server.
    const KEY: &str = "yOwq5LOFc4lOmguxfIpgbUIn43+ZUFrgHH2YIuGcmjw=";
    const BODY: &[u8] = br#"{"id":"01a23720-1de8-7438-a1ce-00fbe5524602","username":"john_doe","membership":{"is_active":false,"is_lifetime":false,"active_until":null}}"#;
    const DIGEST: &str = "sha-256=:WsIjQd2B/ME81p1nGYP+hCAawbMz6nyDH7qV5IS2HaI=:";
    const INPUT: &str = r#"latchkey=("@status" "content-digest" "@method";req "@path";req "latchkey-nonce";req);created=1796221181;keyid="lk_key_mcxq0cak2q50x6jk";alg="ed25519";tag="latchkey-response-v1""#;
    const SIGNATURE: &str = "latchkey=:VnrCGJ/Dw8WT0MlwEnl0O1QAJwZjibHLzECZUzQ0DztR4ScKsVjGC2ScpbIE7QHpZXZEYbYq5loHISgUHEx+CA==:";
    const NOW: i64 = 1_796_221_181;

    fn request(nonce: &str) -> SentRequest<'_> {
        SentRequest {
            method: "POST",
            path: "/api/integration/sign_up",
            nonce: Some(nonce),
            signature: None,
        }
    }

    fn response(body: &[u8]) -> ReceivedResponse<'_> {
        ReceivedResponse {
            status: 200,
            content_digest: Some(DIGEST),
            signature_input: Some(INPUT),
            signature: Some(SIGNATURE),
            body,
        }
    }

    fn verifier() -> ResponseVerifier {
        ResponseVerifier::new(KEY).unwrap()
    }

    #[test]
    fn the_key_id_is_derived_from_the_key() {
        assert_eq!(verifier().key_id(), "lk_key_mcxq0cak2q50x6jk");
    }

    #[test]
    fn the_documented_answer_verifies() {
        let nonce = "zLkPwezMgY9aWcVBQ78B6z-6VJ_Fpxfd";
        verifier()
            .verify(&request(nonce), &response(BODY), NOW)
            .unwrap();
    }

    #[test]
    fn a_changed_byte_another_nonce_status_or_a_late_clock_fail() {
        let nonce = "zLkPwezMgY9aWcVBQ78B6z-6VJ_Fpxfd";
        let flipped = String::from_utf8(BODY.to_vec())
            .unwrap()
            .replace("john_doe", "john_dog");
        assert_eq!(
            verifier().verify(&request(nonce), &response(flipped.as_bytes()), NOW),
            Err(SignatureError::DigestMismatch)
        );
        assert_eq!(
            verifier().verify(&request("another-nonce-0123456789"), &response(BODY), NOW),
            Err(SignatureError::Invalid)
        );
        let mut forbidden = response(BODY);
        forbidden.status = 403;
        assert_eq!(
            verifier().verify(&request(nonce), &forbidden, NOW),
            Err(SignatureError::Invalid)
        );
        assert!(matches!(
            verifier().verify(&request(nonce), &response(BODY), NOW + 600),
            Err(SignatureError::Stale { .. })
        ));
        let without_nonce = SentRequest {
            nonce: None,
            ..request(nonce)
        };
        assert!(matches!(
            verifier().verify(&without_nonce, &response(BODY), NOW),
            Err(SignatureError::UnexpectedInput(_))
        ));
    }

    #[test]
    fn another_pinned_key_or_an_unsigned_answer_fail() {
        let other = ResponseVerifier::new("8WkqXzFc3gwyCfHCxQY/kUB7rI0o7TeM7Y9cS3SE+fM=").unwrap();
        let nonce = "zLkPwezMgY9aWcVBQ78B6z-6VJ_Fpxfd";
        assert_eq!(
            other.verify(&request(nonce), &response(BODY), NOW),
            Err(SignatureError::NotSignedByPinnedKey)
        );
        let mut unsigned = response(BODY);
        unsigned.signature = None;
        assert_eq!(
            verifier().verify(&request(nonce), &unsigned, NOW),
            Err(SignatureError::Missing("Signature"))
        );
    }

    #[test]
    fn nonces_are_fresh_and_url_safe() {
        let (a, b) = (new_nonce(), new_nonce());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn a_signed_request_verifies_under_its_public_key() {
        let signer = RequestSigner::new(&BASE64.encode(&[7_u8; 32])).unwrap();
        let request = RequestToSign {
            method: "POST",
            path: "/api/integration/sign_up",
            query: "?",
            body: b"{}",
            api_key: "lk_app_x",
        };
        let signed = signer.sign(&request, 1_700_000_000, "nonce-0123456789abcdef");
        assert!(signed.base.starts_with("\"@method\": POST\n\"@path\": /api/integration/sign_up\n\"@query\": ?\n\"content-digest\": sha-256=:"));
        let public = signer.key.verifying_key();
        let raw = BASE64
            .decode(signed.member.trim_matches(':').as_bytes())
            .unwrap();
        public
            .verify_strict(
                signed.base.as_bytes(),
                &Signature::from_slice(&raw).unwrap(),
            )
            .unwrap();
        let without_body = RequestToSign {
            method: "GET",
            body: b"",
            ..request
        };
        let unsigned_body = signer.sign(&without_body, 1, "nonce-0123456789abcdef");
        assert_eq!(unsigned_body.content_digest, None);
        assert!(!unsigned_body.base.contains("content-digest"));
    }
}
