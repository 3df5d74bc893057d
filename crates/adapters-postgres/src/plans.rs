//! For the plan guards (docs/architecture.md, "Hot paths"): the statements a store sends,
//! captured exactly as sent (SQL and bound values), and what the database plans for each, on
//! a database that was never analysed.

use crate::SeaOrmStore;
use anyhow::Context as _;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait as _};
use serde_json::Value as Json;
use std::sync::{Arc, Mutex};

/// What a store sends while recording; a clone shares the record.
#[derive(Debug, Clone, Default)]
pub struct StatementLog(Arc<Mutex<Option<Vec<Statement>>>>);

impl StatementLog {
    /// Starts a new record.
    pub fn start(&self) {
        if let Ok(mut log) = self.0.lock() {
            *log = Some(Vec::new());
        }
    }

    /// Stops recording; the statements sent since [`start`](Self::start), in order.
    #[must_use]
    pub fn stop(&self) -> Vec<Statement> {
        self.0
            .lock()
            .ok()
            .and_then(|mut log| log.take())
            .unwrap_or_default()
    }

    fn push(&self, statement: &Statement) {
        if let Ok(mut log) = self.0.lock()
            && let Some(log) = log.as_mut()
        {
            log.push(statement.clone());
        }
    }
}

impl SeaOrmStore {
    /// The same store, recording into `log` what it sends (its transactions included).
    #[must_use]
    pub fn recording_into(mut self, log: &StatementLog) -> Self {
        let log = log.clone();
        self.db
            .set_metric_callback(move |info| log.push(info.statement));
        self
    }
}

/// One step of a plan that reads a table: `"Index Scan"`, `"Seq Scan"`, SQLite's `"SEARCH"`
/// or `"SCAN"`, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub kind: String,
    pub table: String,
    /// The index used, if any (`"PRIMARY KEY"` for SQLite's rowid).
    pub index: Option<String>,
    /// PostgreSQL, measured plans only: rows the step read and threw away.
    pub rows_removed: u64,
    /// PostgreSQL: the step's index condition and filter, for a reader of a failed guard.
    pub conditions: String,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.index {
            Some(index) => write!(f, "{} {} using {index}", self.kind, self.table),
            None => write!(f, "{} {}", self.kind, self.table),
        }
    }
}

/// What the database plans for `statement`, on the store's connection (which must not be
/// recording). On PostgreSQL statements that write no row are measured (`EXPLAIN ANALYZE`,
/// in a transaction rolled back), so rows thrown away by a filter are counted; those that
/// insert are planned only, as running them again would collide with what they wrote.
///
/// # Errors
/// When the database cannot explain the statement.
pub async fn explain(store: &SeaOrmStore, statement: &Statement) -> anyhow::Result<Vec<Access>> {
    let values = statement.values.clone().map(|v| v.0).unwrap_or_default();
    match store.backend() {
        DbBackend::Postgres => {
            let inserts = statement.sql.contains("INSERT ");
            let options = if inserts {
                "FORMAT JSON"
            } else {
                "ANALYZE, FORMAT JSON"
            };
            let sql = format!("EXPLAIN ({options}) {}", statement.sql);
            let txn = store.db.begin().await.context("beginning")?;
            let row = txn
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    sql,
                    values,
                ))
                .await
                .with_context(|| format!("explaining {}", statement.sql))?
                .context("EXPLAIN answered no row")?;
            txn.rollback().await.context("rolling back")?;
            let plan: Json = row.try_get("", "QUERY PLAN").context("the plan")?;
            let mut accesses = Vec::new();
            if let Some(plans) = plan.as_array() {
                for plan in plans {
                    walk(&plan["Plan"], &mut accesses);
                }
            }
            Ok(accesses)
        }
        backend => {
            let sql = format!("EXPLAIN QUERY PLAN {}", statement.sql);
            let rows = store
                .db
                .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
                .await
                .with_context(|| format!("explaining {}", statement.sql))?;
            let mut accesses = Vec::new();
            for row in rows {
                let detail: String = row.try_get("", "detail").context("the plan's detail")?;
                accesses.extend(sqlite_access(&detail));
            }
            Ok(accesses)
        }
    }
}

/// A PostgreSQL plan node and its children, depth first.
fn walk(node: &Json, accesses: &mut Vec<Access>) {
    let kind = node["Node Type"].as_str().unwrap_or_default();
    if let Some(table) = node["Relation Name"].as_str()
        && kind != "ModifyTable"
    {
        let removed = ["Rows Removed by Filter", "Rows Removed by Index Recheck"]
            .iter()
            .filter_map(|key| node[*key].as_u64())
            .sum();
        // A bitmap heap scan reads the rows its bitmap index scans (its children) found.
        let index = node["Index Name"].as_str().map(str::to_owned).or_else(|| {
            let names: Vec<&str> = node["Plans"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|child| child["Index Name"].as_str())
                .collect();
            (!names.is_empty()).then(|| names.join("+"))
        });
        let conditions = ["Index Cond", "Recheck Cond", "Filter"]
            .iter()
            .filter_map(|key| node[*key].as_str().map(|c| format!("{key}: {c}")))
            .collect::<Vec<_>>()
            .join("; ");
        accesses.push(Access {
            kind: kind.to_owned(),
            table: table.to_owned(),
            index,
            rows_removed: removed,
            conditions,
        });
    }
    if let Some(children) = node["Plans"].as_array() {
        for child in children {
            walk(child, accesses);
        }
    }
}

/// `SEARCH users USING INDEX users_application_id (application_id=? AND id=?)`, `SCAN
/// licenses`, `SEARCH t USING INTEGER PRIMARY KEY (rowid=?)`; `None` for lines that read no
/// table (`SCAN CONSTANT ROW`, subquery and compound headers, temporary b-trees).
fn sqlite_access(detail: &str) -> Option<Access> {
    let mut words = detail.split_whitespace();
    let kind = match words.next()? {
        kind @ ("SEARCH" | "SCAN") => kind,
        _ => return None,
    };
    let table = words.next()?;
    if table == "CONSTANT" || table.starts_with('(') || table == "SUBQUERY" {
        return None;
    }
    let rest: Vec<&str> = words.collect();
    let index = match rest.as_slice() {
        ["USING", "INDEX", name, ..] | ["USING", "COVERING", "INDEX", name, ..] => {
            Some((*name).to_owned())
        }
        ["USING", "INTEGER", "PRIMARY", "KEY", ..] | ["USING", "PRIMARY", "KEY", ..] => {
            Some("PRIMARY KEY".to_owned())
        }
        _ => None,
    };
    Some(Access {
        kind: kind.to_owned(),
        table: table.to_owned(),
        index,
        rows_removed: 0,
        conditions: detail.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::sqlite_access;

    #[test]
    fn sqlite_plan_lines_name_their_table_and_index() {
        let search = sqlite_access(
            "SEARCH licenses USING INDEX licenses_application_code_digest (application_id=? AND code_digest=?)",
        )
        .unwrap();
        assert_eq!(search.kind, "SEARCH");
        assert_eq!(search.table, "licenses");
        assert_eq!(
            search.index.as_deref(),
            Some("licenses_application_code_digest")
        );
        let scan = sqlite_access("SCAN users").unwrap();
        assert_eq!((scan.kind.as_str(), scan.index), ("SCAN", None));
        assert_eq!(sqlite_access("SCAN CONSTANT ROW"), None);
        assert_eq!(sqlite_access("USE TEMP B-TREE FOR ORDER BY"), None);
    }
}
