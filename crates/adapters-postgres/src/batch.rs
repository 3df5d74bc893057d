//! The writes a [`Transaction`](domain::ports::Transaction) holds back, and how they are sent:
//! on PostgreSQL as one statement (data-modifying `WITH` clauses, each insert conditional on
//! the license claim when there is one), elsewhere one statement after another in the
//! transaction. A license sign-up's user, claim, ledger row, device and events are thus one
//! round trip, and one statement is a transaction of its own: no `BEGIN`, no `COMMIT`
//! (docs/architecture.md, "Hot paths").

use crate::connection::store_error;
use crate::events;
use domain::errors::CommitConflict;
use domain::event::Event;
use sea_orm::sea_query::{InsertStatement, UpdateStatement};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, SqlErr, Statement, StatementBuilder, Value};

/// PostgreSQL takes at most 65535 bound values in one statement; a batch over this many is
/// sent one statement at a time instead.
const MAX_VALUES_PER_STATEMENT: usize = 30_000;

/// One write held back.
pub(crate) enum Write {
    /// A new user: its unique violation is [`CommitConflict::UsernameTaken`].
    User(InsertStatement),
    /// The claim of a license (`UPDATE … RETURNING id`): the batch keeps nothing without it.
    Claim(UpdateStatement),
    /// Any other insert, with what it is for its error message.
    Insert(InsertStatement, &'static str),
    /// Events, the outbox's rows (SQLite numbers them when they are sent).
    Events(Vec<Event>),
}

/// Sends `writes` on `conn`, in order. `Ok(false)` when the claim among them lost, in which
/// case the caller must not commit what was sent. `conn` is an open transaction.
pub(crate) async fn send(conn: &impl ConnectionTrait, writes: Vec<Write>) -> anyhow::Result<bool> {
    match send_alone(conn, writes).await? {
        Sent::Alone(won) => Ok(won),
        Sent::NeedsTransaction(writes) => send_each(conn, &writes).await,
    }
}

/// What [`send_alone`] did.
pub(crate) enum Sent {
    /// As one statement, a transaction of its own; `false` when its claim lost (nothing was
    /// written).
    Alone(bool),
    /// Nothing: these writes go one after another, inside a transaction.
    NeedsTransaction(Vec<Write>),
}

/// Sends `writes` as one statement when the database allows it (PostgreSQL), on `conn`,
/// which may be the pool; else hands them back for [`send`] in a transaction.
pub(crate) async fn send_alone(
    conn: &impl ConnectionTrait,
    writes: Vec<Write>,
) -> anyhow::Result<Sent> {
    if writes.is_empty() {
        return Ok(Sent::Alone(true));
    }
    let Some(statement) = one_statement(conn.get_database_backend(), &writes) else {
        return Ok(Sent::NeedsTransaction(writes));
    };
    let has_user = writes.iter().any(|write| matches!(write, Write::User(_)));
    send_one(conn, statement)
        .await
        .map(Sent::Alone)
        .map_err(|error| conflict_or(error, has_user))
}

/// What a failed send means: a unique violation in a batch that creates a user is the
/// username (every other row of such a batch has a fresh random id).
fn conflict_or(error: Failure, has_user: bool) -> anyhow::Error {
    match error {
        Failure::Db(error, what)
            if has_user
                && matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
        {
            anyhow::Error::new(error)
                .context(what)
                .context(CommitConflict::UsernameTaken)
        }
        Failure::Db(error, what) => store_error(error, what),
        Failure::Other(error) => error,
    }
}

enum Failure {
    Db(DbErr, &'static str),
    Other(anyhow::Error),
}

async fn send_one(conn: &impl ConnectionTrait, statement: Statement) -> Result<bool, Failure> {
    let row = conn
        .query_one_raw(statement)
        .await
        .map_err(|error| Failure::Db(error, "writing a batch"))?;
    let claimed: i64 = row
        .ok_or_else(|| Failure::Other(anyhow::anyhow!("a batch answered no row")))?
        .try_get("", "claimed")
        .map_err(|error| Failure::Db(error, "reading a batch's claim"))?;
    Ok(claimed > 0)
}

/// The writes one after another; a failure is named as [`send_alone`]'s are.
pub(crate) async fn send_each(
    conn: &impl ConnectionTrait,
    writes: &[Write],
) -> anyhow::Result<bool> {
    let has_user = writes.iter().any(|write| matches!(write, Write::User(_)));
    each(conn, writes)
        .await
        .map_err(|error| conflict_or(error, has_user))
}

async fn each(conn: &impl ConnectionTrait, writes: &[Write]) -> Result<bool, Failure> {
    for write in writes {
        match write {
            Write::User(insert) => {
                conn.execute(insert)
                    .await
                    .map_err(|error| Failure::Db(error, "inserting a user"))?;
            }
            Write::Claim(claim) => {
                let result = conn
                    .execute(claim)
                    .await
                    .map_err(|error| Failure::Db(error, "claiming a license"))?;
                if result.rows_affected() == 0 {
                    return Ok(false);
                }
            }
            Write::Insert(insert, what) => {
                conn.execute(insert)
                    .await
                    .map_err(|error| Failure::Db(error, what))?;
            }
            Write::Events(list) => {
                events::insert(conn, list).await.map_err(Failure::Other)?;
            }
        }
    }
    Ok(true)
}

/// The batch as one PostgreSQL statement answering `claimed` (rows the claim took, 1 without
/// a claim): `WITH claimed AS (UPDATE …), w1 AS (INSERT …), … SELECT …`. With a claim, each
/// insert reads `INSERT INTO t (…) SELECT * FROM (VALUES …) AS v WHERE EXISTS (SELECT 1 FROM
/// claimed)`, so a lost claim writes nothing. Foreign keys between the rows (the claim names
/// the user inserted beside it) are checked at the end of the statement. `None` on SQLite,
/// for more than one claim, or past the bound on values.
fn one_statement(backend: DbBackend, writes: &[Write]) -> Option<Statement> {
    if backend != DbBackend::Postgres {
        return None;
    }
    let mut claims = writes.iter().filter_map(|write| match write {
        Write::Claim(claim) => Some(StatementBuilder::build(claim, &backend)),
        _ => None,
    });
    let claim = claims.next();
    if claims.next().is_some() {
        return None;
    }
    let inserts: Vec<Statement> = writes
        .iter()
        .flat_map(|write| match write {
            Write::User(insert) | Write::Insert(insert, _) => {
                vec![StatementBuilder::build(insert, &backend)]
            }
            Write::Events(list) => events::insert_statements(list, None)
                .iter()
                .map(|insert| StatementBuilder::build(insert, &backend))
                .collect(),
            Write::Claim(_) => Vec::new(),
        })
        .collect();
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let take = |statement: Statement, values: &mut Vec<Value>| {
        let sql = shift_placeholders(&statement.sql, values.len());
        values.extend(statement.values.map(|v| v.0).unwrap_or_default());
        sql
    };
    if let Some(claim) = claim {
        clauses.push(format!("claimed AS ({})", take(claim, &mut values)));
    }
    let conditional = !clauses.is_empty();
    for (n, insert) in inserts.into_iter().enumerate() {
        let sql = take(insert, &mut values);
        let sql = if conditional {
            only_if_claimed(&sql)?
        } else {
            sql
        };
        clauses.push(format!("w{n} AS ({sql})"));
    }
    if values.len() > MAX_VALUES_PER_STATEMENT {
        return None;
    }
    let answer = if conditional {
        "SELECT count(*) AS claimed FROM claimed"
    } else {
        "SELECT 1::int8 AS claimed"
    };
    let sql = format!("WITH {} {answer}", clauses.join(", "));
    Some(Statement::from_sql_and_values(backend, sql, values))
}

/// `INSERT INTO t (…) VALUES (…), (…)` as an insert of those rows only when the claim took
/// one. `None` for an insert of another shape.
fn only_if_claimed(insert: &str) -> Option<String> {
    let (head, rows) = insert.split_once(" VALUES ")?;
    if rows.contains(" VALUES ") || rows.contains(" RETURNING ") || rows.contains(" ON CONFLICT ") {
        return None;
    }
    Some(format!(
        "{head} SELECT * FROM (VALUES {rows}) AS v WHERE EXISTS (SELECT 1 FROM claimed)"
    ))
}

/// `$n` → `$(n + by)`: a statement's placeholders numbered after those before it. sea-query
/// binds every value, so a `$` outside a placeholder is inside a quoted identifier at most,
/// which our schema has none of.
fn shift_placeholders(sql: &str, by: usize) -> String {
    let mut shifted = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        shifted.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => shifted.push_str(&(n + by).to_string()),
            Err(_) => shifted.push_str(&digits),
        }
    }
    shifted
}

#[cfg(test)]
mod tests {
    use super::{only_if_claimed, shift_placeholders};

    #[test]
    fn placeholders_are_numbered_after_the_ones_before() {
        assert_eq!(
            shift_placeholders(
                "INSERT INTO \"t\" (\"a\", \"b\") VALUES ($1, $2), ($3, $10)",
                4
            ),
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES ($5, $6), ($7, $14)"
        );
        assert_eq!(shift_placeholders("SELECT 1", 3), "SELECT 1");
    }

    #[test]
    fn an_insert_becomes_conditional_on_the_claim() {
        assert_eq!(
            only_if_claimed("INSERT INTO \"t\" (\"a\") VALUES ($1), ($2)").as_deref(),
            Some(
                "INSERT INTO \"t\" (\"a\") SELECT * FROM (VALUES ($1), ($2)) AS v \
                 WHERE EXISTS (SELECT 1 FROM claimed)"
            )
        );
        assert_eq!(
            only_if_claimed("INSERT INTO \"t\" (\"a\") VALUES ($1) ON CONFLICT DO NOTHING"),
            None
        );
    }
}
