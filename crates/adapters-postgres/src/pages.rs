//! Cursor pages over any table whose `id` is a UUIDv7: newest first, by an (application,
//! id) index, so a page costs one seek and `limit + 1` rows wherever it starts.

use domain::page::PageRequest;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

/// Narrows `select` to the page's rows: ids below the cursor, newest first, one row more
/// than the page holds (see [`domain::page::Page::from_rows`]).
pub(crate) fn keyset<E: EntityTrait>(
    select: Select<E>,
    id: E::Column,
    page: &PageRequest,
) -> Select<E> {
    let select = match page.after() {
        Some(cursor) => select.filter(id.lt(cursor.id())),
        None => select,
    };
    select.order_by_desc(id).limit(page.rows_to_fetch())
}
