//! `JsonBody<T>`: the contract's body rules in one extractor. JSON when `Content-Type` is
//! `application/json`, `application/*+json` or absent (else 415); at most 64 KiB (else 413);
//! unparseable → 422 `invalid_json`; a missing or mistyped field → 422 naming the field.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// The most a request body may hold.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = check_headers(req);
        let mut payload = payload.take();
        Box::pin(async move {
            checked?;
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| ApiError::InvalidJson)?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(ApiError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(JsonBody)
        })
    }
}

fn check_headers(req: &HttpRequest) -> Result<(), ApiError> {
    let mime = req
        .mime_type()
        .map_err(|_| ApiError::UnsupportedMediaType)?;
    if let Some(mime) = mime {
        let json = mime.type_() == "application"
            && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"));
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(())
}

/// Deserialises, naming the field at fault when the JSON is well formed but wrong.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Every body is a JSON object; serde would also read a struct from an array, by position
    // (`[]` as `{}`), which the document does not allow.
    if body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&first| first == b'[')
    {
        return Err(ApiError::Validation {
            field: None,
            detail: "the body must be a JSON object".into(),
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.classify() != Category::Data {
            return ApiError::InvalidJson;
        }
        let message = inner.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned();
        let field = if path == "." {
            missing_field(&message)
        } else {
            Some(path)
        };
        match field {
            Some(field) => ApiError::Validation {
                detail: format!("{field}: {message}"),
                field: Some(field),
            },
            None => ApiError::Validation {
                field: None,
                detail: message,
            },
        }
    })?;
    deserializer.end().map_err(|_| ApiError::InvalidJson)?;
    Ok(value)
}

/// serde reports a missing field at its parent, as "missing field `name`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        username: String,
        count: Option<u32>,
    }

    fn field_of(result: Result<Body, ApiError>) -> Option<String> {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_body_that_is_an_array_is_refused_even_where_its_items_would_fill_the_fields() {
        for body in [&b"[]"[..], b" [\"alice\", 1]"] {
            assert!(
                matches!(
                    parse::<Body>(body),
                    Err(ApiError::Validation { field: None, .. })
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_missing_field_is_named() {
        assert_eq!(field_of(parse(br#"{"count": 1}"#)), Some("username".into()));
    }

    #[test]
    fn a_mistyped_field_is_named() {
        assert_eq!(
            field_of(parse(br#"{"username": 5}"#)),
            Some("username".into())
        );
        assert_eq!(
            field_of(parse(br#"{"username": "a", "count": "x"}"#)),
            Some("count".into())
        );
    }

    #[test]
    fn broken_or_trailing_json_is_invalid_json() {
        for body in [&b"{"[..], b"", b"{\"username\": \"a\"} x", b"nonsense"] {
            assert!(
                matches!(parse::<Body>(body), Err(ApiError::InvalidJson)),
                "{body:?}"
            );
        }
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let body: Body = parse(br#"{"username": "a", "extra": true}"#).unwrap();
        assert_eq!(body.username, "a");
    }
}
