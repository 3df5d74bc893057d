//! Signed integration answers: RFC 9421 HTTP Message Signatures with Ed25519, bound to the
//! request, so a vendor's program can tell Latchkey's answers from a fake server's and an
//! answer captured for one request from one made for another. The wire format is pinned in
//! docs/signing.md:
//!
//! - `Content-Digest: sha-256=:<base64>:` (RFC 9530) of the body;
//! - `Signature-Input` and `Signature` under the label `latchkey`, covering
//!   `"@status" "content-digest" "@method";req "@path";req`, then `"latchkey-nonce";req`
//!   when the request sent a `Latchkey-Nonce`, then `"signature";req;key="latchkey"` when the
//!   request was signed; parameters `created`, `keyid`, `alg="ed25519"`,
//!   `tag="latchkey-response-v1"`. During a key rotation a second signature, labelled
//!   `latchkey-previous`, is made with the previous key.
//!
//! The middleware reads what the answer is bound to before the request is handled, and signs
//! once it is answered, with the keys of the application the request authenticated as. An
//! answer to a request that names no application (unknown credentials, an unknown route)
//! cannot be signed with its key, and is not signed.

use crate::json::MAX_BODY_BYTES;
use crate::request_signing::RequestParts;
use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _, web};
use data_encoding::BASE64;
use domain::application::Application;
use domain::services::{IntegrationApi, ResponseKey, ResponseSigning};
use futures_util::StreamExt as _;
use sha2::{Digest as _, Sha256};

/// The request header that binds an answer to one request.
pub const NONCE_HEADER: &str = "latchkey-nonce";
const LABEL: &str = "latchkey";
const TAG: &str = "latchkey-response-v1";

/// What an answer is bound to, and what a request signature may cover, read from the
/// request before it is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestBinding {
    method: String,
    path: String,
    nonce: Nonce,
    /// The request's own `latchkey` signature, serialized as RFC 9421 §2.1.2 covers it.
    request_signature: Option<String>,
    pub(crate) parts: RequestParts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Nonce {
    Absent,
    Valid(String),
    /// Sent, but not 16 to 128 characters of `[A-Za-z0-9_-]`: the request is refused (422).
    Invalid,
}

/// The SHA-256 of an answer's body, set on an answer streamed from storage so that signing
/// it does not read the body into memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KnownContentDigest(pub [u8; 32]);

/// The application a request authenticated as, for its answer to be signed with its keys.
#[derive(Clone)]
pub(crate) struct AnsweringApp(pub Application);

/// The request's credentials were looked at (whether or not they were good).
#[derive(Clone, Copy)]
pub(crate) struct CredentialsChecked;

impl RequestBinding {
    fn read(req: &ServiceRequest, body: &[u8]) -> Self {
        let header = |name: &str| req.headers().get(name).map(HeaderValue::to_str);
        let text = |name: &str| header(name).and_then(Result::ok).map(str::to_owned);
        let parts = RequestParts {
            method: req.method().as_str().to_owned(),
            path: req.path().to_owned(),
            query: format!("?{}", req.query_string()),
            api_key: text("x-api-key"),
            content_digest: text("content-digest"),
            signature_input: text("signature-input"),
            signature: text("signature"),
            body_sha256: Sha256::digest(body).to_vec(),
            has_body: !body.is_empty(),
        };
        let nonce = match header(NONCE_HEADER) {
            None => Nonce::Absent,
            Some(Ok(nonce)) if is_valid_nonce(nonce) => Nonce::Valid(nonce.to_owned()),
            Some(_) => Nonce::Invalid,
        };
        let request_signature = header("signature")
            .and_then(Result::ok)
            .and_then(signature_member);
        Self {
            method: req.method().as_str().to_owned(),
            path: req.path().to_owned(),
            nonce,
            request_signature,
            parts,
        }
    }

    pub(crate) fn nonce_is_invalid(&self) -> bool {
        self.nonce == Nonce::Invalid
    }

    /// The covered components after `"@status"` and `"content-digest"`, with their values.
    fn request_components(&self) -> Vec<(String, String)> {
        let mut components = vec![
            (r#""@method";req"#.to_owned(), self.method.clone()),
            (r#""@path";req"#.to_owned(), self.path.clone()),
        ];
        if let Nonce::Valid(nonce) = &self.nonce {
            components.push((format!(r#""{NONCE_HEADER}";req"#), nonce.clone()));
        }
        if let Some(signature) = &self.request_signature {
            components.push((
                format!(r#""signature";req;key="{LABEL}""#),
                signature.clone(),
            ));
        }
        components
    }
}

/// 16 to 128 characters of `[A-Za-z0-9_-]`.
pub(crate) fn is_valid_nonce(nonce: &str) -> bool {
    (16..=128).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `latchkey` member of a `Signature` dictionary, serialized as a byte sequence.
fn signature_member(header: &str) -> Option<String> {
    let dictionary: sfv::Dictionary = sfv::Parser::new(header).parse().ok()?;
    let sfv::ListEntry::Item(item) = dictionary.get(LABEL)? else {
        return None;
    };
    let bytes = item.bare_item.as_byte_sequence()?;
    Some(format!(":{}:", BASE64.encode(bytes)))
}

/// What one key signs: RFC 9421 §2.5's signature base, and the `Signature-Input` member.
fn signature_base(components: &[(String, String)], created: i64, key_id: &str) -> (String, String) {
    let identifiers: Vec<&str> = components.iter().map(|(id, _)| id.as_str()).collect();
    let params = format!(
        "({});created={created};keyid=\"{key_id}\";alg=\"ed25519\";tag=\"{TAG}\"",
        identifiers.join(" ")
    );
    let mut base = String::new();
    for (id, value) in components {
        base.push_str(id);
        base.push_str(": ");
        base.push_str(value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&params);
    (base, params)
}

/// The application the request authenticated as. A request refused before its credentials
/// were checked (a body that is too large, not JSON, or not parseable: extractors run
/// together and the first error wins) is authenticated here, so that its answer is signed
/// too when its credentials are good.
async fn answering_app(response: &ServiceResponse<BoxBody>) -> Option<Application> {
    let request = response.request();
    let answering = request.extensions().get::<AnsweringApp>().cloned();
    if let Some(AnsweringApp(app)) = answering {
        return Some(app);
    }
    let refused_for_its_body = matches!(response.status().as_u16(), 413 | 415 | 422);
    if !refused_for_its_body || request.extensions().get::<CredentialsChecked>().is_some() {
        return None;
    }
    let header = |name: &str| request.headers().get(name)?.to_str().ok();
    let (key, secret) = (header("x-api-key")?, header("x-api-secret")?);
    let service = request.app_data::<web::Data<dyn IntegrationApi>>()?;
    service.authenticate(key, secret).await.ok()
}

/// Reads the body (integration bodies are small: at most 64 KiB are read, and a larger one
/// is refused by the JSON extractor) so that a request signature can cover its digest, and
/// puts it back for the handler.
async fn buffer_body(req: &mut ServiceRequest) -> Result<web::Bytes, Error> {
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > MAX_BODY_BYTES {
            break;
        }
    }
    let body = body.freeze();
    req.set_payload(Payload::from(body.clone()));
    Ok(body)
}

/// Checks what signed requests need and signs every answer under `/api/integration`.
pub async fn sign_answers(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let body = buffer_body(&mut req).await?;
    let binding = RequestBinding::read(&req, &body);
    req.extensions_mut().insert(binding.clone());
    let signer = req.app_data::<web::Data<dyn ResponseSigning>>().cloned();
    let response = next.call(req).await?.map_into_boxed_body();
    let Some(signer) = signer else {
        return Ok(response);
    };
    let Some(app) = answering_app(&response).await else {
        return Ok(response);
    };
    let keys = signer.response_keys(&app);
    if keys.is_empty() {
        return Ok(response);
    }
    let (request, response) = response.into_parts();
    let known = response
        .extensions()
        .get::<KnownContentDigest>()
        .map(|d| d.0);
    let (mut response, body) = response.into_parts();
    let (sha256, body) = match known {
        // A file download: streamed, its digest known before a byte is sent.
        Some(sha256) => (sha256, body),
        None => {
            let body = to_bytes(body)
                .await
                .map_err(actix_web::error::ErrorInternalServerError)?;
            (Sha256::digest(&body).into(), BoxBody::new(body))
        }
    };
    let digest = format!("sha-256=:{}:", BASE64.encode(&sha256));
    let mut components = vec![
        (
            r#""@status""#.to_owned(),
            response.status().as_u16().to_string(),
        ),
        (r#""content-digest""#.to_owned(), digest.clone()),
    ];
    components.extend(binding.request_components());
    match sign(signer.as_ref(), &app, &keys, &components) {
        Ok((inputs, signatures)) => {
            let headers = response.headers_mut();
            for (name, value) in [
                ("content-digest", digest),
                ("signature-input", inputs),
                ("signature", signatures),
            ] {
                if let Ok(value) = HeaderValue::try_from(value) {
                    headers.insert(HeaderName::from_static(name), value);
                }
            }
        }
        // The answer goes out unsigned, which every verifying client refuses.
        Err(error) => tracing::error!(
            error = format!("{error:#}"),
            "could not sign an integration answer"
        ),
    }
    Ok(ServiceResponse::new(request, response.set_body(body)))
}

/// The `Signature-Input` and `Signature` header values, one member per key.
fn sign(
    signer: &dyn ResponseSigning,
    app: &Application,
    keys: &[ResponseKey],
    components: &[(String, String)],
) -> anyhow::Result<(String, String)> {
    let created = chrono::Utc::now().timestamp();
    let mut inputs = Vec::with_capacity(keys.len());
    let mut signatures = Vec::with_capacity(keys.len());
    for key in keys {
        let (base, params) = signature_base(components, created, &key.key_id);
        let signature = signer.sign_response(app, &key.key_id, base.as_bytes())?;
        inputs.push(format!("{}={params}", key.label));
        signatures.push(format!("{}=:{}:", key.label, BASE64.encode(&signature)));
    }
    Ok((inputs.join(", "), signatures.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_16_to_128_url_safe_characters() {
        assert!(is_valid_nonce(&"a".repeat(16)));
        assert!(is_valid_nonce(&"Az09_-".repeat(22)[..128]));
        assert!(!is_valid_nonce(&"a".repeat(15)));
        assert!(!is_valid_nonce(&"a".repeat(129)));
        assert!(!is_valid_nonce("aaaaaaaaaaaaaaa="));
        assert!(!is_valid_nonce("aaaaaaaa aaaaaaaa"));
    }

    #[test]
    fn the_base_lists_each_component_then_the_signature_params() {
        let components = vec![
            (r#""@status""#.to_owned(), "200".to_owned()),
            (r#""@method";req"#.to_owned(), "POST".to_owned()),
        ];
        let (base, params) = signature_base(&components, 1_700_000_000, "lk_key_x");
        assert_eq!(
            params,
            r#"("@status" "@method";req);created=1700000000;keyid="lk_key_x";alg="ed25519";tag="latchkey-response-v1""#
        );
        assert_eq!(
            base,
            format!("\"@status\": 200\n\"@method\";req: POST\n\"@signature-params\": {params}")
        );
    }

    #[test]
    fn the_request_signature_is_its_latchkey_member_as_a_byte_sequence() {
        assert_eq!(
            signature_member("other=:AAAA:, latchkey=:aGVsbG8=:"),
            Some(":aGVsbG8=:".to_owned())
        );
        assert_eq!(signature_member("other=:AAAA:"), None);
        assert_eq!(signature_member("latchkey=token"), None);
        assert_eq!(signature_member("not a dictionary ("), None);
    }
}
