//! Signed requests on the wire (RFC 9421, Ed25519), as docs/signing.md pins them: the label
//! `latchkey`, covering `"@method" "@path" "@query" "content-digest" "x-api-key"` (without
//! `"content-digest"` only when there is no body), with the parameters `created`, `nonce`
//! (16 to 128 characters), `keyid`, `alg="ed25519"` and `tag="latchkey-request-v1"`. This
//! module finds the signature and rebuilds what it signed; the domain decides whether it
//! holds (time, signature, then nonce).

use crate::error::ApiError;
use crate::signing::is_valid_nonce;
use domain::services::SignedRequest;
use sfv::{BareItem, FieldType as _, ListEntry, Parser};

const LABEL: &str = "latchkey";
const TAG: &str = "latchkey-request-v1";
const WITH_BODY: [&str; 5] = ["@method", "@path", "@query", "content-digest", "x-api-key"];
const WITHOUT_BODY: [&str; 4] = ["@method", "@path", "@query", "x-api-key"];

/// The parts of a request its signature may cover, read before it is handled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RequestParts {
    pub method: String,
    pub path: String,
    /// The query with its `?`; `?` alone when there is none (RFC 9421 §2.2.7).
    pub query: String,
    pub api_key: Option<String>,
    pub content_digest: Option<String>,
    pub signature_input: Option<String>,
    pub signature: Option<String>,
    /// SHA-256 of the body as received.
    pub body_sha256: Vec<u8>,
    pub has_body: bool,
}

impl RequestParts {
    /// The signature to check, or the refusal: `missing_signature` when there is none,
    /// `invalid_signature` when it is malformed, covers the wrong parts, or the body does
    /// not match its `Content-Digest`.
    pub(crate) fn signed_request(&self) -> Result<SignedRequest, ApiError> {
        let (Some(input), Some(signature)) = (&self.signature_input, &self.signature) else {
            return Err(ApiError::MissingSignature);
        };
        let invalid = |_| ApiError::InvalidSignature;
        let inputs: sfv::Dictionary = Parser::new(input).parse().map_err(invalid)?;
        let Some(ListEntry::InnerList(covered)) = inputs.get(LABEL) else {
            return Err(ApiError::MissingSignature);
        };
        let signatures: sfv::Dictionary = Parser::new(signature).parse().map_err(invalid)?;
        let Some(ListEntry::Item(signature)) = signatures.get(LABEL) else {
            return Err(ApiError::MissingSignature);
        };
        let signature = signature
            .bare_item
            .as_byte_sequence()
            .ok_or(ApiError::InvalidSignature)?
            .to_vec();

        let string = |name: &str| match covered.params.get(name) {
            Some(BareItem::String(value)) => Some(value.as_str().to_owned()),
            _ => None,
        };
        let created = match covered.params.get("created") {
            Some(BareItem::Integer(created)) => i64::from(*created),
            _ => return Err(ApiError::InvalidSignature),
        };
        let (Some(key_id), Some(nonce)) = (string("keyid"), string("nonce")) else {
            return Err(ApiError::InvalidSignature);
        };
        if string("alg").as_deref() != Some("ed25519")
            || string("tag").as_deref() != Some(TAG)
            || !is_valid_nonce(&nonce)
        {
            return Err(ApiError::InvalidSignature);
        }

        let names: Vec<&str> = covered
            .items
            .iter()
            .map(|item| match (&item.bare_item, item.params.is_empty()) {
                (BareItem::String(name), true) => Ok(name.as_str()),
                _ => Err(ApiError::InvalidSignature),
            })
            .collect::<Result<_, _>>()?;
        // Without a body, the digest (of nothing) may be covered or left out.
        let covers_what_it_must = names == WITH_BODY || (!self.has_body && names == WITHOUT_BODY);
        if !covers_what_it_must {
            return Err(ApiError::InvalidSignature);
        }
        let mut base = String::new();
        for name in &names {
            let value = match *name {
                "@method" => self.method.clone(),
                "@path" => self.path.clone(),
                "@query" => self.query.clone(),
                "content-digest" => self.checked_digest()?,
                "x-api-key" => self.api_key.clone().ok_or(ApiError::InvalidSignature)?,
                _ => return Err(ApiError::InvalidSignature),
            };
            base.push_str(&format!("\"{name}\": {value}\n"));
        }
        // RFC 9421 §2.5: the signature parameters as this server serializes them.
        let mut member = sfv::Dictionary::new();
        member.insert(
            sfv::Key::from_string(LABEL.to_owned()).map_err(|_| ApiError::InvalidSignature)?,
            ListEntry::InnerList(covered.clone()),
        );
        let serialized = member.serialize().ok_or(ApiError::InvalidSignature)?;
        let params = serialized
            .strip_prefix(&format!("{LABEL}="))
            .ok_or(ApiError::InvalidSignature)?;
        base.push_str(&format!("\"@signature-params\": {params}"));
        Ok(SignedRequest {
            key_id,
            created,
            nonce,
            base: base.into_bytes(),
            signature,
        })
    }

    /// The `Content-Digest` header, when its SHA-256 is the body's.
    fn checked_digest(&self) -> Result<String, ApiError> {
        let header = self
            .content_digest
            .as_ref()
            .ok_or(ApiError::InvalidSignature)?;
        let digests: sfv::Dictionary = Parser::new(header)
            .parse()
            .map_err(|_| ApiError::InvalidSignature)?;
        match digests.get("sha-256") {
            Some(ListEntry::Item(item))
                if item.bare_item.as_byte_sequence() == Some(self.body_sha256.as_slice()) =>
            {
                Ok(header.clone())
            }
            _ => Err(ApiError::InvalidSignature),
        }
    }
}
