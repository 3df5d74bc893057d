//! Deleting expired rows, one bounded batch per statement, so that a large backlog never holds
//! locks for long: the rows of `Entity` keyed by `key` for which `expired` holds.

use crate::connection::DbResultExt as _;
use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter};

pub(crate) async fn delete_batch<E: EntityTrait>(
    db: &impl ConnectionTrait,
    key: &[E::Column],
    expired: Expr,
    batch: u64,
    what: &'static str,
) -> anyhow::Result<u64> {
    let batch_keys = Query::select()
        .columns(key.iter().copied())
        .from(E::default())
        .and_where(expired)
        .limit(batch)
        .to_owned();
    let key = match key {
        [column] => Expr::col(*column),
        columns => Expr::tuple(columns.iter().map(|column| Expr::col(*column))),
    };
    Ok(E::delete_many()
        .filter(key.in_subquery(batch_keys))
        .exec(db)
        .await
        .or_unavailable(what)?
        .rows_affected)
}
