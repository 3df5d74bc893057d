//! Plan guards: every statement of every hot path, captured from the storage adapter exactly as
//! the domain service (wired as the server wires it) sends it, uses the index it was designed
//! for on a database that was never analysed: tens of thousands of rows, autovacuum off, no
//! statistics. On PostgreSQL no `Seq Scan` and no step that throws away more than a handful of
//! rows; on SQLite a `SEARCH` on an index, never a `SCAN`. And each hot path is exactly the
//! statements listed below, so a new query or a new index that changes a plan fails here until
//! its guard says what it uses (docs/architecture.md, "Hot paths").

use crate::helpers::{Backend, settings};
use crate::on_both_backends;
use adapters_postgres::SeaOrmStore;
use adapters_postgres::plans::{Access, StatementLog, explain};
use adapters_postgres::testing::{TestDatabase, fresh_postgres, fresh_sqlite};
use chrono::{Duration, Utc};
use domain::application::ApplicationName;
use domain::ban::{BanTarget, NewBan};
use domain::event::RequestContext;
use domain::license::{LicenseDuration, NewLicense};
use domain::ports::{BanStore, LicenseStore, NonceStore, UnitOfWork};
use domain::services::{
    ActivateLicense, Caller, Credentials, IntegrationApi, LicenseSignUp, Login, OperatorApi,
    PasswordSignUp, SignInApi,
};
use domain::user::{Credential, Membership, NewUser};
use domain::values::{
    BanId, ClientIp, HardwareId, LicenseCode, LicenseId, Password, UserId, Username,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The statements of each hot path, as `summary` prints them, on PostgreSQL. `using a | b`:
/// either index (both seek the row by its primary key; which one the planner takes is a tie
/// that differs between runs).
const POSTGRES: &[(&str, &[&str])] = &[
    (
        "application lookup",
        &["SELECT applications: Index Scan applications using applications_api_key_key"],
    ),
    (
        "password sign-up",
        &[
            "SELECT bans: Index Scan bans using bans_application_match_key",
            "SELECT users: Index Scan users using users_application_canonical_username",
            "SELECT webhook_endpoints: Index Scan webhook_endpoints using webhook_endpoints_application_id",
            "WITH users, events",
        ],
    ),
    (
        "license sign-up",
        &[
            "SELECT licenses: Index Scan licenses using licenses_application_code_digest",
            "SELECT bans: Index Scan bans using bans_application_match_key",
            "SELECT webhook_endpoints: Index Scan webhook_endpoints using webhook_endpoints_application_id",
            "WITH licenses, users, membership_adjustments, events: Index Scan licenses using licenses_application_unused",
        ],
    ),
    (
        "license activation",
        &[
            "SELECT bans: Index Scan bans using bans_application_match_key",
            "SELECT users: Index Scan users using users_application_canonical_username",
            "SELECT licenses: Index Scan licenses using licenses_application_code_digest",
            "SELECT bans: Index Scan bans using bans_application_match_key",
            "UPDATE users: Index Scan users using users_pkey | users_application_id",
            "SELECT users: Index Scan users using users_pkey",
            "WITH licenses: Index Scan licenses using licenses_application_unused",
            "UPDATE users: Index Scan users using users_pkey | users_application_id",
            "INSERT membership_adjustments",
            "SELECT webhook_endpoints: Index Scan webhook_endpoints using webhook_endpoints_application_id",
            "WITH events",
        ],
    ),
    (
        "sign-in",
        &[
            "SELECT bans: Index Scan bans using bans_application_match_key",
            "SELECT users: Index Scan users using users_application_canonical_username",
            "SELECT bans: Index Scan bans using bans_application_match_key",
            "UPDATE users: Index Scan users using users_pkey | users_application_id",
            "SELECT users: Index Scan users using users_pkey",
            "SELECT devices: Index Scan devices using devices_user_hardware_id",
            "SELECT webhook_endpoints: Index Scan webhook_endpoints using webhook_endpoints_application_id",
            "WITH devices, events",
            "UPDATE sessions: Bitmap Heap Scan sessions using sessions_user_expires_at",
            "SELECT sessions: Index Scan sessions using sessions_user_expires_at",
            "WITH sessions",
        ],
    ),
    (
        "app context (session lookup)",
        &[
            "SELECT sessions: Index Scan sessions using sessions_token_digest_key",
            "SELECT users: Index Scan users using users_pkey",
            "SELECT bans: Index Scan bans using bans_application_match_key",
            "SELECT application_variables: Bitmap Heap Scan application_variables using application_variables_name",
            "SELECT files: Index Scan files using files_application_id_name",
        ],
    ),
    ("request-signing nonce", &["INSERT request_nonces"]),
];

/// The same on SQLite, which sends a transaction's writes one statement at a time.
const SQLITE: &[(&str, &[&str])] = &[
    (
        "application lookup",
        &["SELECT applications: SEARCH applications using sqlite_autoindex_applications_2"],
    ),
    (
        "password sign-up",
        &[
            "SELECT bans: SEARCH bans using bans_application_match_key",
            "SELECT users: SEARCH users using users_application_canonical_username",
            "SELECT webhook_endpoints: SEARCH webhook_endpoints using webhook_endpoints_application_id",
            "INSERT users",
            "SELECT : SEARCH events using events_commit_order, SCAN webhook_fan_out",
            "INSERT events",
        ],
    ),
    (
        "license sign-up",
        &[
            "SELECT licenses: SEARCH licenses using licenses_application_code_digest",
            "SELECT bans: SEARCH bans using bans_application_match_key",
            "SELECT webhook_endpoints: SEARCH webhook_endpoints using webhook_endpoints_application_id",
            "INSERT users",
            "UPDATE licenses: SEARCH licenses using sqlite_autoindex_licenses_1",
            "INSERT membership_adjustments",
            "SELECT : SEARCH events using events_commit_order, SCAN webhook_fan_out",
            "INSERT events: SCAN 2-ROW",
        ],
    ),
    (
        "license activation",
        &[
            "SELECT bans: SEARCH bans using bans_application_match_key",
            "SELECT users: SEARCH users using users_application_canonical_username",
            "SELECT licenses: SEARCH licenses using licenses_application_code_digest",
            "SELECT bans: SEARCH bans using bans_application_match_key",
            "UPDATE users: SEARCH users using sqlite_autoindex_users_1",
            "SELECT users: SEARCH users using sqlite_autoindex_users_1",
            "UPDATE licenses: SEARCH licenses using sqlite_autoindex_licenses_1",
            "UPDATE users: SEARCH users using sqlite_autoindex_users_1",
            "INSERT membership_adjustments",
            "SELECT webhook_endpoints: SEARCH webhook_endpoints using webhook_endpoints_application_id",
            "SELECT : SEARCH events using events_commit_order, SCAN webhook_fan_out",
            "INSERT events: SCAN 2-ROW",
        ],
    ),
    (
        "sign-in",
        &[
            "SELECT bans: SEARCH bans using bans_application_match_key",
            "SELECT users: SEARCH users using users_application_canonical_username",
            "SELECT bans: SEARCH bans using bans_application_match_key",
            "UPDATE users: SEARCH users using sqlite_autoindex_users_1",
            "SELECT users: SEARCH users using sqlite_autoindex_users_1",
            "SELECT devices: SEARCH devices using devices_user_hardware_id",
            "SELECT webhook_endpoints: SEARCH webhook_endpoints using webhook_endpoints_application_id",
            "INSERT devices",
            "SELECT : SEARCH events using events_commit_order, SCAN webhook_fan_out",
            "INSERT events",
            "UPDATE sessions: SEARCH sessions using sessions_user_expires_at",
            "SELECT sessions: SEARCH sessions using sessions_user_expires_at",
            "INSERT sessions",
        ],
    ),
    (
        "app context (session lookup)",
        &[
            "SELECT sessions: SEARCH sessions using sqlite_autoindex_sessions_2",
            "SELECT users: SEARCH users using sqlite_autoindex_users_1",
            "SELECT bans: SEARCH bans using bans_application_match_key",
            "SELECT application_variables: SEARCH application_variables using application_variables_name",
            "SELECT files: SEARCH files using files_application_id_name",
        ],
    ),
    ("request-signing nonce", &["INSERT request_nonces"]),
];

/// Scans allowed, each with why: `(table, index or "")`.
/// - `webhook_fan_out` holds one row by construction (the dispatcher's position).
const KNOWN_SCANS: &[(&str, &str)] = &[("webhook_fan_out", "")];

/// Bans of the application: enough pages that reading them whole costs more than probing the
/// unique index, as for an application under abuse (a table of a few pages is rightly read
/// whole). With `application_id = $1 AND match_key IN (…)` a never-analysed PostgreSQL read
/// every one of them through `bans_application_subject_id` on each check.
const BANS: usize = 2_000;

/// A statement as sent, and what the database plans for it.
type Explained = (Statement, Vec<Access>);

/// Rows of each large table.
const ROWS: usize = 20_000;
const PASSWORD: &str = "plan-guard-password-1";

/// `VERB table, table…`: the statement's verb and the tables it names, in order.
fn label(sql: &str) -> String {
    let verb = sql.split_whitespace().next().unwrap_or_default().to_owned();
    let mut tables: Vec<String> = Vec::new();
    let words: Vec<&str> = sql.split_whitespace().collect();
    for pair in words.windows(2) {
        if matches!(
            pair[0].trim_start_matches('('),
            "FROM" | "INTO" | "UPDATE" | "JOIN"
        ) && let Some(table) = pair[1].strip_prefix('"')
            && let Some(table) = table.split('"').next()
            && !tables.iter().any(|seen| seen == table)
        {
            tables.push(table.to_owned());
        }
    }
    format!("{verb} {}", tables.join(", "))
}

fn summary(statement: &Statement, accesses: &[Access]) -> String {
    let accesses: Vec<String> = accesses.iter().map(ToString::to_string).collect();
    if accesses.is_empty() {
        label(&statement.sql)
    } else {
        format!("{}: {}", label(&statement.sql), accesses.join(", "))
    }
}

fn context() -> RequestContext {
    RequestContext::from_ip(ClientIp::parse("203.0.113.7").unwrap())
}

/// Keeps autovacuum (and its analyses) off every table of this database.
async fn autovacuum_off(db: &TestDatabase) {
    let connection = db.store.connection();
    let tables = connection
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
        ))
        .await
        .unwrap();
    for row in tables {
        let table: String = row.try_get("", "tablename").unwrap();
        connection
            .execute_unprepared(&format!(
                "ALTER TABLE \"{table}\" SET (autovacuum_enabled = false)"
            ))
            .await
            .unwrap();
    }
}

async fn never_analysed(db: &TestDatabase) {
    let row = db
        .store
        .connection()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS analysed FROM pg_stat_user_tables \
             WHERE last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL",
        ))
        .await
        .unwrap()
        .unwrap();
    let analysed: i64 = row.try_get("", "analysed").unwrap();
    assert_eq!(analysed, 0, "no table was analysed");
}

/// `ROWS` licenses (half of them used), as many users, and some bans.
async fn seed(store: &SeaOrmStore, app: domain::values::ApplicationId, users: usize) {
    let now = Utc::now();
    for batch in 0..ROWS / 1000 {
        let licenses: Vec<NewLicense> = (0..1000)
            .map(|n| NewLicense {
                id: LicenseId::generate(),
                code: LicenseCode::parse(&format!("SEED-{batch:04}-{n:04}")).unwrap(),
                duration: LicenseDuration::Minutes(60),
                created_at: now,
            })
            .collect();
        store.create_many(app, &licenses, &[]).await.unwrap();
    }
    store
        .connection()
        .execute_unprepared(&format!(
            "UPDATE licenses SET activated_at = created_at WHERE id IN \
             (SELECT id FROM licenses ORDER BY id LIMIT {})",
            ROWS / 2
        ))
        .await
        .unwrap();
    for chunk in 0..users / 2000 {
        let mut tx = store.begin().await.unwrap();
        for n in 0..2000 {
            let user = NewUser {
                id: UserId::generate(),
                username: Username::parse(&format!("seed_{chunk}_{n}")).unwrap(),
                credential: Credential::LicenseCode,
                membership: Membership::default(),
                signup_ip: ClientIp::parse("198.51.100.1").unwrap(),
                created_at: now,
            };
            tx.create_user(app, &user).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    for n in 0..BANS {
        let ban = NewBan {
            id: BanId::generate(),
            target: BanTarget::HardwareId(HardwareId::parse(&format!("banned-{n}")).unwrap()),
            reason: None,
            created_at: now,
            expires_at: None,
        };
        BanStore::create(store, app, &ban, &[]).await.unwrap();
    }
}

async fn plan_guards(backend: Backend) {
    let db = match backend {
        Backend::Postgres => fresh_postgres().await,
        Backend::Sqlite => fresh_sqlite().await,
    }
    .unwrap();
    let postgres = matches!(backend, Backend::Postgres);
    if postgres {
        autovacuum_off(&db).await;
    }
    let log = StatementLog::default();
    let recording = db.store.clone().recording_into(&log);
    let mut settings = settings(&db.url);
    // Every lookup reaches the database, as on a cold cache.
    settings.database.application_cache_ms = 0;
    let service = server::service(&recording, &settings).await.unwrap();
    let created = service
        .create_application(ApplicationName::parse("Plans").unwrap(), false)
        .await
        .unwrap();
    let app_id = created.application.id;
    seed(&db.store, app_id, if postgres { ROWS } else { ROWS / 4 }).await;
    let fresh = |n: usize| LicenseCode::parse(&format!("FRESH-CODE-{n:04}")).unwrap();
    let fresh_licenses: Vec<NewLicense> = (0..2)
        .map(|n| NewLicense {
            id: LicenseId::generate(),
            code: fresh(n),
            duration: LicenseDuration::Minutes(60),
            created_at: Utc::now(),
        })
        .collect();
    db.store
        .create_many(app_id, &fresh_licenses, &[])
        .await
        .unwrap();
    if postgres {
        never_analysed(&db).await;
    }

    let mut planned: Vec<(&str, Vec<Explained>)> = Vec::new();
    let mut record = async |name: &'static str, statements: Vec<Statement>| {
        let mut explained = Vec::new();
        for statement in statements {
            let accesses = explain(&db.store, &statement).await.unwrap();
            explained.push((statement, accesses));
        }
        planned.push((name, explained));
    };

    log.start();
    let app = service
        .authenticate(&created.application.api_key, created.api_secret.expose())
        .await
        .unwrap();
    record("application lookup", log.stop()).await;

    let username = Username::parse("planner").unwrap();
    log.start();
    service
        .sign_up(
            &app,
            PasswordSignUp {
                username: username.clone(),
                password: Password::parse(PASSWORD).unwrap(),
                hardware_id: None,
                context: context(),
            },
        )
        .await
        .unwrap();
    record("password sign-up", log.stop()).await;

    log.start();
    service
        .sign_up_with_license_code(
            &app,
            LicenseSignUp {
                code: fresh(0),
                hardware_id: None,
                context: context(),
            },
        )
        .await
        .unwrap();
    record("license sign-up", log.stop()).await;

    log.start();
    service
        .activate_license(
            &app,
            ActivateLicense {
                code: fresh(1),
                username: username.clone(),
                password: Password::parse(PASSWORD).unwrap(),
                context: context(),
            },
        )
        .await
        .unwrap();
    record("license activation", log.stop()).await;

    log.start();
    let signed_in = service
        .login(
            &app,
            Login {
                credentials: Credentials::Password {
                    username: username.clone(),
                    password: Password::parse(PASSWORD).unwrap(),
                },
                hardware_id: Some(HardwareId::parse("planner-device").unwrap()),
                origin: context(),
            },
        )
        .await
        .unwrap();
    record("sign-in", log.stop()).await;

    log.start();
    service
        .app_context(
            &app,
            Caller::Session(signed_in.token.expose().to_owned()),
            context().client_ip,
        )
        .await
        .unwrap();
    record("app context (session lookup)", log.stop()).await;

    log.start();
    assert!(
        NonceStore::record(
            &recording,
            app_id,
            "a-nonce",
            Utc::now() + Duration::minutes(5)
        )
        .await
        .unwrap()
    );
    record("request-signing nonce", log.stop()).await;

    let mut problems = Vec::new();
    let mut actual = String::new();
    for (name, statements) in &planned {
        actual.push_str(&format!("    (\"{name}\", &[\n"));
        for (statement, accesses) in statements {
            actual.push_str(&format!("        \"{}\",\n", summary(statement, accesses)));
            problems.extend(scans(postgres, statement, accesses).map(|p| format!("{name}: {p}")));
        }
        actual.push_str("    ]),\n");
    }
    assert!(
        problems.is_empty(),
        "statements that scan:\n{}",
        problems.join("\n")
    );
    if std::env::var_os("LATCHKEY_PRINT_PLANS").is_some() {
        println!("{actual}");
    }
    let expected = if postgres { POSTGRES } else { SQLITE };
    let mut listed = String::new();
    let mut actual_lines = actual.lines();
    for (name, statements) in expected {
        listed.push_str(&format!("    (\"{name}\", &[\n"));
        actual_lines.next();
        for statement in *statements {
            let written = one_of(statement, actual_lines.next().unwrap_or_default());
            listed.push_str(&format!("        \"{written}\",\n"));
        }
        listed.push_str("    ]),\n");
        actual_lines.next();
    }
    assert_eq!(
        listed, actual,
        "the hot paths' statements changed: check the plans, then list them in plans.rs"
    );
    if postgres {
        the_launch_day_capture_is_caught(&db, app_id, &planned).await;
    }
}

/// A listed statement whose index is written `a | b` (two indexes that serve it equally, the
/// planner's pick between them a tie) as the alternative `actual` shows, else as listed.
fn one_of(listed: &str, actual: &str) -> String {
    let actual = actual.trim().trim_end_matches(',').trim_matches('"');
    if let Some((prefix, alternatives)) = listed.split_once("using ")
        && alternatives.contains(" | ")
        && let Some(index) = actual
            .strip_prefix(prefix)
            .and_then(|a| a.strip_prefix("using "))
        && alternatives
            .split(" | ")
            .any(|alternative| alternative == index)
    {
        return actual.to_owned();
    }
    listed.to_owned()
}

/// What in `accesses` reads more than the index it was designed for: a scan, a read without an
/// index, a step that throws away more than a handful of rows (`KNOWN_SCANS` excepted).
fn scans<'a>(
    postgres: bool,
    statement: &'a Statement,
    accesses: &'a [Access],
) -> impl Iterator<Item = String> + 'a {
    accesses.iter().filter_map(move |access| {
        // SQLite's `SCAN 2-ROW` is a VALUES list, not a table.
        let known = access.table.ends_with("-ROW")
            || KNOWN_SCANS.iter().any(|(table, index)| {
                access.table == *table && access.index.as_deref().unwrap_or_default() == *index
            });
        let scans = if postgres {
            access.kind == "Seq Scan" || access.index.is_none()
        } else {
            access.kind == "SCAN"
        };
        (!known && (scans || access.rows_removed > 5)).then(|| {
            format!(
                "{access} (rows removed: {}; {}) in {}",
                access.rows_removed, access.conditions, statement.sql
            )
        })
    })
}

/// The guard against the launch-day regression itself: with the console's index restored in its
/// old form (`(application_id, activated_at)`, before migration 23), the claim of that day
/// (`… WHERE application_id = $ AND code_digest = $ AND activated_at IS NULL`) walks the unused
/// licenses, and the guard's rule says so; the license sign-up's statements as the adapter sends
/// them now still use the index they were designed for.
async fn the_launch_day_capture_is_caught(
    db: &TestDatabase,
    app: domain::values::ApplicationId,
    planned: &[(&str, Vec<Explained>)],
) {
    db.store
        .connection()
        .execute_unprepared(
            "DROP INDEX licenses_application_activated_at; \
             DROP INDEX licenses_application_unused; \
             CREATE INDEX licenses_application_activated_at ON licenses (application_id, activated_at)",
        )
        .await
        .unwrap();
    let code = LicenseCode::parse("NEVER-MINTED-CODE").unwrap();
    let launch_day_claim = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE licenses SET activated_at = $1 WHERE application_id = $2 \
         AND code_digest = $3 AND activated_at IS NULL",
        [
            Utc::now().into(),
            app.as_uuid().into(),
            code.digest().as_bytes().to_vec().into(),
        ],
    );
    let accesses = explain(&db.store, &launch_day_claim).await.unwrap();
    let caught: Vec<String> = scans(true, &launch_day_claim, &accesses).collect();
    assert!(
        !caught.is_empty(),
        "the launch-day claim with the old index should fail the guard: {accesses:?}"
    );
    let (_, sign_up) = planned
        .iter()
        .find(|(name, _)| *name == "license sign-up")
        .unwrap();
    for (statement, _) in sign_up {
        let accesses = explain(&db.store, statement).await.unwrap();
        let found: Vec<String> = scans(true, statement, &accesses).collect();
        assert!(found.is_empty(), "with the old index: {found:?}");
    }
}

on_both_backends!(plan_guards);

#[test]
fn a_listed_tie_accepts_either_index_and_nothing_else() {
    let listed = "UPDATE users: Index Scan users using users_pkey | users_application_id";
    let line = |index: &str| format!("        \"UPDATE users: Index Scan users using {index}\",");
    assert_eq!(
        one_of(listed, &line("users_application_id")),
        "UPDATE users: Index Scan users using users_application_id"
    );
    assert_eq!(
        one_of(listed, &line("users_pkey")),
        "UPDATE users: Index Scan users using users_pkey"
    );
    assert_eq!(
        one_of(listed, &line("users_application_canonical_username")),
        listed
    );
}
