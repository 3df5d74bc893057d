//! Cursor pages: every list of the admin and operator APIs pages the same way, newest first.
//!
//! A page is keyed on the id of the last item seen. Ids are UUIDv7, so they order items by
//! creation; a store answers a page with one index seek and a walk of `limit + 1` rows, as
//! fast on the last page as on the first. An item inserted while a client pages is newer
//! than every cursor, so it never shifts the items still to come: none is skipped or repeated.

use thiserror::Error;
use uuid::Uuid;

/// Where a page starts: just after (older than) the item with this id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(Uuid);

impl Cursor {
    #[must_use]
    pub const fn after(id: Uuid) -> Self {
        Self(id)
    }

    #[must_use]
    pub const fn id(&self) -> Uuid {
        self.0
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("must be between 1 and {}", PageRequest::MAX_LIMIT)]
pub struct PageLimitError;

/// Which page to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    after: Option<Cursor>,
    limit: u64,
}

impl PageRequest {
    pub const MAX_LIMIT: u64 = 200;
    pub const DEFAULT_LIMIT: u64 = 50;

    /// # Errors
    /// [`PageLimitError`] when `limit` is not between 1 and [`Self::MAX_LIMIT`].
    pub fn new(after: Option<Cursor>, limit: u64) -> Result<Self, PageLimitError> {
        if (1..=Self::MAX_LIMIT).contains(&limit) {
            Ok(Self { after, limit })
        } else {
            Err(PageLimitError)
        }
    }

    /// The first page, of the default size.
    #[must_use]
    pub const fn first() -> Self {
        Self {
            after: None,
            limit: Self::DEFAULT_LIMIT,
        }
    }

    /// The largest page after `after`: for walking a whole list (an export).
    #[must_use]
    pub const fn largest(after: Option<Cursor>) -> Self {
        Self {
            after,
            limit: Self::MAX_LIMIT,
        }
    }

    #[must_use]
    pub const fn after(&self) -> Option<Cursor> {
        self.after
    }

    #[must_use]
    pub const fn limit(&self) -> u64 {
        self.limit
    }

    /// How many rows a store reads: one more than the page holds, to know whether another
    /// page follows without counting.
    #[must_use]
    pub const fn rows_to_fetch(&self) -> u64 {
        self.limit + 1
    }
}

/// One page of a list, and where the next one starts (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// The page from up to [`PageRequest::rows_to_fetch`] rows read newest first: a row past
    /// the limit is dropped and only says that another page follows.
    #[must_use]
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, id: impl Fn(&T) -> Uuid) -> Self {
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(|last| Cursor(id(last)))
        } else {
            None
        };
        Self { items: rows, next }
    }

    #[must_use]
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }

    /// # Errors
    /// The first error `f` returns.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            next: self.next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u128) -> Vec<Uuid> {
        (0..n).rev().map(Uuid::from_u128).collect()
    }

    #[test]
    fn limits_outside_one_to_two_hundred_are_refused() {
        assert_eq!(PageRequest::new(None, 0), Err(PageLimitError));
        assert_eq!(PageRequest::new(None, 201), Err(PageLimitError));
        assert_eq!(PageRequest::new(None, 200).map(|p| p.limit()), Ok(200));
        assert_eq!(PageRequest::new(None, 1).map(|p| p.rows_to_fetch()), Ok(2));
    }

    #[test]
    fn a_row_past_the_limit_becomes_the_cursor_of_the_last_item_kept() {
        let request = PageRequest::new(None, 3).unwrap();
        let page = Page::from_rows(ids(4), &request, |id| *id);
        assert_eq!(page.items, ids(4)[..3].to_vec());
        assert_eq!(page.next, Some(Cursor::after(Uuid::from_u128(1))));
    }

    #[test]
    fn a_page_with_no_row_past_the_limit_is_the_last() {
        let request = PageRequest::new(None, 3).unwrap();
        assert_eq!(Page::from_rows(ids(3), &request, |id| *id).next, None);
        assert_eq!(Page::from_rows(ids(0), &request, |id| *id).next, None);
    }
}
