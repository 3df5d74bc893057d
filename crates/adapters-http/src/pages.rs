//! Cursor pages on the wire, the same for every list: `?limit=&cursor=` in, the items and
//! `next_cursor` out (`null` on the last page). The cursor is opaque to clients: the
//! base64url form of the last item's id, which only this server reads.

use crate::error::ApiError;
use data_encoding::BASE64URL_NOPAD;
use domain::page::{Cursor, Page, PageRequest};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

/// `?limit=50&cursor=…`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items a page holds: 1 to 200; default 50.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the page before; absent for the first page. Always 22
    /// characters: the unpadded base64url form of 16 bytes.
    #[param(
        pattern = r"^[A-Za-z0-9_-]{21}[AQgw]$",
        min_length = 22,
        max_length = 22
    )]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn try_into_domain(&self) -> Result<PageRequest, ApiError> {
        let limit_error = |e: &dyn std::fmt::Display| ApiError::field("limit", e);
        let limit = match &self.limit {
            None => PageRequest::DEFAULT_LIMIT,
            Some(raw) => raw.parse().map_err(|_| {
                limit_error(&format!("must be between 1 and {}", PageRequest::MAX_LIMIT))
            })?,
        };
        let after = self.cursor.as_deref().map(decode).transpose()?;
        PageRequest::new(after, limit).map_err(|e| limit_error(&e))
    }

    /// Whether the request names a page by cursor or size.
    pub const fn is_given(&self) -> bool {
        self.limit.is_some() || self.cursor.is_some()
    }
}

fn decode(raw: &str) -> Result<Cursor, ApiError> {
    BASE64URL_NOPAD
        .decode(raw.as_bytes())
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .map(Cursor::after)
        .ok_or_else(|| ApiError::field("cursor", "is not a cursor this server gave"))
}

/// The `next_cursor` of a page.
pub fn next_cursor<T>(page: &Page<T>) -> Option<String> {
    page.next
        .map(|cursor| BASE64URL_NOPAD.encode(cursor.id().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, cursor: Option<&str>) -> PageQuery {
        PageQuery {
            limit: limit.map(str::to_owned),
            cursor: cursor.map(str::to_owned),
        }
    }

    #[test]
    fn a_next_cursor_reads_back_as_the_position_it_names() {
        let id = Uuid::now_v7();
        let page: Page<()> = Page {
            items: vec![],
            next: Some(Cursor::after(id)),
        };
        let cursor = next_cursor(&page).unwrap();
        let request = query(Some("7"), Some(&cursor)).try_into_domain().unwrap();
        assert_eq!(request.after(), Some(Cursor::after(id)));
        assert_eq!(request.limit(), 7);
    }

    #[test]
    fn every_cursor_the_server_gives_has_the_documented_form_and_every_such_form_reads() {
        let documented = |cursor: &str| {
            cursor.len() == 22
                && cursor[..21]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && matches!(cursor.as_bytes()[21], b'A' | b'Q' | b'g' | b'w')
        };
        for id in [Uuid::nil(), Uuid::max(), Uuid::now_v7(), Uuid::new_v4()] {
            let page: Page<()> = Page {
                items: vec![],
                next: Some(Cursor::after(id)),
            };
            let cursor = next_cursor(&page).unwrap();
            assert!(documented(&cursor), "{cursor}");
        }
        for cursor in [
            "AAAAAAAAAAAAAAAAAAAAAA",
            "_____________________w",
            "-a0Z9_-a0Z9_-a0Z9_-a0Q",
        ] {
            assert!(documented(cursor));
            assert!(
                query(None, Some(cursor)).try_into_domain().is_ok(),
                "{cursor}"
            );
        }
    }

    #[test]
    fn bad_limits_and_cursors_name_their_field() {
        for (limit, cursor, field) in [
            (Some("0"), None, "limit"),
            (Some("201"), None, "limit"),
            (Some("ten"), None, "limit"),
            (Some("-1"), None, "limit"),
            (None, Some("not a cursor"), "cursor"),
            (None, Some("AAAA"), "cursor"),
        ] {
            let error = query(limit, cursor).try_into_domain().unwrap_err();
            assert!(
                matches!(&error, ApiError::Validation { field: Some(f), .. } if f == field),
                "{limit:?} {cursor:?}: {error:?}"
            );
        }
        assert_eq!(query(None, None).try_into_domain().unwrap().limit(), 50);
    }
}
