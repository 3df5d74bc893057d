//! A verifier of Latchkey's signed answers written from RFC 9421 and RFC 9530 for these tests,
//! sharing no code with the server: it parses the headers with the `sfv` crate, rebuilds the
//! signature base from the request it sent and the response it got, and checks the Ed25519
//! signature against the public key the operator API published.

use data_encoding::BASE64;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use sfv::{BareItem, FieldType as _, ListEntry, Parser};
use sha2::{Digest as _, Sha256};

/// What the client sent.
pub struct SentRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub nonce: Option<&'a str>,
    /// The request's own `Signature` header, when it was signed.
    pub signature: Option<&'a str>,
}

/// What the client got.
pub struct Answer<'a> {
    pub status: u16,
    pub headers: &'a reqwest::header::HeaderMap,
    pub body: &'a [u8],
}

/// Verifies the signature labelled `label` with `public_key` (standard base64), and that it
/// covers exactly what Latchkey's contract says it covers for this request.
pub fn verify(
    label: &str,
    public_key: &str,
    key_id: &str,
    request: &SentRequest<'_>,
    answer: &Answer<'_>,
) -> Result<(), String> {
    let header = |name: &str| -> Result<&str, String> {
        answer
            .headers
            .get(name)
            .ok_or(format!("no {name} header"))?
            .to_str()
            .map_err(|e| e.to_string())
    };
    let digest = header("content-digest")?;
    let expected_digest = format!("sha-256=:{}:", BASE64.encode(&Sha256::digest(answer.body)));
    if digest != expected_digest {
        return Err(format!(
            "content-digest {digest} is not the body's {expected_digest}"
        ));
    }

    let inputs: sfv::Dictionary = Parser::new(header("signature-input")?)
        .parse()
        .map_err(|e| format!("signature-input: {e}"))?;
    let Some(ListEntry::InnerList(covered)) = inputs.get(label) else {
        return Err(format!("no {label} in signature-input"));
    };
    let param = |name: &str| covered.params.get(name).cloned();
    if param("alg")
        != Some(BareItem::String(
            sfv::String::from_string("ed25519".into()).unwrap(),
        ))
    {
        return Err("alg is not ed25519".into());
    }
    let tag = sfv::String::from_string("latchkey-response-v1".into()).unwrap();
    if param("tag") != Some(BareItem::String(tag)) {
        return Err("wrong tag".into());
    }
    let expected_key = sfv::String::from_string(key_id.into()).unwrap();
    if param("keyid") != Some(BareItem::String(expected_key)) {
        return Err(format!("keyid is not {key_id}"));
    }
    let Some(BareItem::Integer(created)) = param("created") else {
        return Err("no created".into());
    };
    let age = chrono::Utc::now().timestamp() - i64::from(created);
    if !(-60..=60).contains(&age) {
        return Err(format!("created is {age} s away"));
    }

    // The components the contract requires, in its order.
    let mut expected: Vec<(String, String)> = vec![
        (r#""@status""#.into(), answer.status.to_string()),
        (r#""content-digest""#.into(), digest.to_owned()),
        (r#""@method";req"#.into(), request.method.to_owned()),
        (r#""@path";req"#.into(), request.path.to_owned()),
    ];
    if let Some(nonce) = request.nonce {
        expected.push((r#""latchkey-nonce";req"#.into(), nonce.to_owned()));
    }
    if let Some(signature) = request.signature {
        let members: sfv::Dictionary = Parser::new(signature).parse().map_err(|e| e.to_string())?;
        let Some(ListEntry::Item(item)) = members.get("latchkey") else {
            return Err("the request has no latchkey signature".into());
        };
        let bytes = item.bare_item.as_byte_sequence().ok_or("not bytes")?;
        expected.push((
            r#""signature";req;key="latchkey""#.into(),
            format!(":{}:", BASE64.encode(bytes)),
        ));
    }
    let covered_ids: Vec<String> = covered
        .items
        .iter()
        .map(|item| {
            let one: sfv::List = vec![ListEntry::Item(item.clone())];
            one.serialize().unwrap_or_default()
        })
        .collect();
    let expected_ids: Vec<&String> = expected.iter().map(|(id, _)| id).collect();
    if covered_ids.iter().collect::<Vec<_>>() != expected_ids {
        return Err(format!("covers {covered_ids:?}, not {expected_ids:?}"));
    }

    // RFC 9421 section 2.5: one line per component, then the signature parameters.
    let mut one = sfv::Dictionary::new();
    one.insert(
        sfv::Key::from_string(label.into()).unwrap(),
        ListEntry::InnerList(covered.clone()),
    );
    let serialized = one.serialize().ok_or("empty")?;
    let params = serialized
        .strip_prefix(&format!("{label}="))
        .ok_or("unexpected serialization")?;
    let mut base = String::new();
    for (id, value) in &expected {
        base.push_str(&format!("{id}: {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));

    let signatures: sfv::Dictionary = Parser::new(header("signature")?)
        .parse()
        .map_err(|e| format!("signature: {e}"))?;
    let Some(ListEntry::Item(item)) = signatures.get(label) else {
        return Err(format!("no {label} in signature"));
    };
    let signature = item
        .bare_item
        .as_byte_sequence()
        .ok_or("signature is not bytes")?;
    let signature = Signature::from_slice(signature).map_err(|e| e.to_string())?;
    let key: [u8; 32] = BASE64
        .decode(public_key.as_bytes())
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "the public key is not 32 bytes")?;
    VerifyingKey::from_bytes(&key)
        .map_err(|e| e.to_string())?
        .verify(base.as_bytes(), &signature)
        .map_err(|_| format!("the signature does not verify over:\n{base}"))
}
