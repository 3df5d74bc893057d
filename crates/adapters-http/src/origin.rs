//! Where a request came from, for the audit log: the client's address ([`client_ip`]), its
//! `User-Agent` (at most 256 characters, control characters dropped) and the `X-Request-Id`
//! a client or proxy sent (kept when it is 1 to 128 characters of `[A-Za-z0-9._:-]`, else
//! left out). Neither header is ever refused: they are only recorded.

use crate::client_ip::client_ip;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderName, USER_AGENT};
use actix_web::{FromRequest, HttpRequest};
use domain::event::RequestContext;
use std::future::{Ready, ready};

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

const MAX_REQUEST_ID: usize = 128;

/// Extracts the request's [`RequestContext`].
pub struct Origin(pub RequestContext);

impl FromRequest for Origin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(origin(req))))
    }
}

pub(crate) fn origin(req: &HttpRequest) -> RequestContext {
    let header = |name: &HeaderName| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let user_agent = header(&USER_AGENT)
        .map(|agent| {
            agent
                .chars()
                .filter(|c| !c.is_control())
                .take(RequestContext::MAX_USER_AGENT)
                .collect::<String>()
        })
        .filter(|agent| !agent.is_empty());
    let request_id = header(&X_REQUEST_ID)
        .filter(|id| {
            (1..=MAX_REQUEST_ID).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b))
        })
        .map(str::to_owned);
    RequestContext {
        client_ip: client_ip(req),
        user_agent,
        request_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn user_agents_are_cut_and_cleaned_and_bad_request_ids_left_out() {
        let long = "a".repeat(300);
        let cases = [
            (
                Some("curl/8.5\t"),
                Some("req-1:a.b_c"),
                Some("curl/8.5"),
                Some("req-1:a.b_c"),
            ),
            (
                Some(long.as_str()),
                Some("has space"),
                Some(&long[..256]),
                None,
            ),
            (Some("\t"), Some(""), None, None),
            (None, Some(&"x".repeat(129)[..]), None, None),
        ];
        for (agent, id, expected_agent, expected_id) in cases {
            let mut request = TestRequest::default().peer_addr("203.0.113.7:5000".parse().unwrap());
            if let Some(agent) = agent {
                request = request.insert_header((USER_AGENT, agent));
            }
            if let Some(id) = id {
                request = request.insert_header((X_REQUEST_ID.clone(), id));
            }
            let context = origin(&request.to_http_request());
            assert_eq!(context.client_ip.to_string(), "203.0.113.7");
            assert_eq!(context.user_agent.as_deref(), expected_agent, "{agent:?}");
            assert_eq!(context.request_id.as_deref(), expected_id, "{id:?}");
        }
    }
}
