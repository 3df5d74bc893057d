//! Growing a PostgreSQL database to a million users, a million licenses and 200,000 bans with
//! plain `INSERT … SELECT`s, as a bulk import would: the data of the scale and console
//! benches.

use super::{Database, Postgres};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const USERS: u64 = 1_000_000;
pub const LICENSES: u64 = 1_000_000;
pub const IP_BANS: u64 = 100_000;
pub const HARDWARE_ID_BANS: u64 = 100_000;

/// An argon2id hash in the server's format. Nobody signs in as a seeded user, so one hash
/// for all of them is enough to give the rows their real width.
const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2hzYWx0$\
                             3nUOC6ZkvlUA7UZ5Lp1mDo6LJ5rMEsJ4jCbzrxo3e0Q";

/// A UUIDv7-shaped id for a row created at `at` (a `timestamptz` expression), its random bits
/// taken from `hex` (an expression of 32 hex digits): ordered by creation like the ids the
/// server makes, so that "newest first by id" means what it does in production.
fn uuid7(at: &str, hex: &str) -> String {
    format!(
        "(lpad(to_hex((extract(epoch FROM {at}) * 1000)::bigint), 12, '0') || '7' \
         || substr({hex}, 1, 3) || substr('89ab', 1 + ascii({hex}) % 4, 1) \
         || substr({hex}, 4, 15))::uuid"
    )
}

/// What growing the database writes, and when its rows were created: the two years before
/// the run, one user and one license a minute, one ban every five minutes.
struct Seed<'a> {
    app: &'a str,
    /// Unix seconds of the start of the two years.
    epoch: u64,
}

impl Seed<'_> {
    /// When row `series` of a series one `every` apart was created.
    fn at(&self, series: &str, every: &str) -> String {
        format!(
            "(to_timestamp({}) + {series} * interval '{every}')",
            self.epoch
        )
    }

    /// User `n`'s id, the same in the users' rows and in the licenses they used.
    fn user_id() -> String {
        uuid7("at", "md5('user' || n)")
    }

    /// Half the users signed up with a license code (odd `n`, each with license `n`), half
    /// with a password; a tenth of the codes give lifetime access, the rest 30 days. Some
    /// password users bought time later. Addresses are spread over public IPv4 space.
    fn users(&self) -> String {
        let (app, at, id) = (self.app, self.at("n", "1 minute"), Self::user_id());
        format!(
            "INSERT INTO users (id, application_id, username, username_canonical, password_hash, \
                 credential_type, is_lifetime, active_until, signup_ip, last_ip, created_at) \
             SELECT {id}, '{app}', 'user_' || n, 'user_' || n, \
                 CASE WHEN n % 2 = 0 THEN '{PASSWORD_HASH}' END, \
                 CASE WHEN n % 2 = 0 THEN 'username_password' ELSE 'license_code' END, \
                 n % 10 = 1, \
                 CASE WHEN n % 10 <> 1 AND (n % 2 = 1 OR n % 4 = 0) \
                     THEN at + interval '30 days' END, \
                 format('%s.%s.%s.%s', 11 + n % 100, n / 100 % 256, n / 25600 % 256, 1 + n % 254), \
                 format('%s.%s.%s.%s', 11 + n % 97, n / 97 % 256, n / 24832 % 256, 1 + n % 253), \
                 at \
             FROM (SELECT n, {at} AS at FROM generate_series(1, {USERS}) AS n) AS s"
        )
    }

    /// License `n` was minted an hour before user `n` signed up; the odd ones are the ones
    /// those users redeemed, so half the licenses are used. Nobody redeems a seeded code, so
    /// any distinct 32 bytes do as the digest.
    fn licenses(&self) -> String {
        let (app, at, user) = (self.app, self.at("n", "1 minute"), Self::user_id());
        let id = uuid7("at - interval '1 hour'", "md5('license' || n)");
        format!(
            "INSERT INTO licenses (id, application_id, code_digest, minutes, activated_at, \
                 activated_by_user_id, created_at) \
             SELECT {id}, '{app}', sha256(('code-' || n)::bytea), \
                 CASE WHEN n % 10 <> 1 THEN 43200 END, \
                 CASE WHEN n % 2 = 1 THEN at END, \
                 CASE WHEN n % 2 = 1 THEN {user} END, \
                 at - interval '1 hour' \
             FROM (SELECT n, {at} AS at FROM generate_series(1, {LICENSES}) AS n) AS s"
        )
    }

    /// The ban columns but `kind`, `value` and `match_key`, from a series `k` created at `at`
    /// and a random hex `h`: a reason on most, and a tenth that expire (years from now).
    fn ban_select(&self, kind: &str) -> String {
        let app = self.app;
        format!(
            "SELECT {id}, '{app}', '{kind}', value, match_key, \
                 CASE k % 4 WHEN 0 THEN NULL WHEN 1 THEN 'chargeback' \
                     WHEN 2 THEN 'key shared on a forum' ELSE 'abuse report #' || k END, \
                 at, CASE WHEN k % 10 = 0 THEN at + interval '5 years' END",
            id = uuid7("at", "h"),
        )
    }

    /// 45 % single IPv4 addresses, 45 % single IPv6 addresses, 5 % IPv4 /24s and 5 % IPv6
    /// /48s, all distinct (`k` is spread over the octets or groups without collisions) and
    /// none covering 127.0.0.1, where the sign-ups come from. `value` is the canonical range
    /// as the server shows it, IPv6 in Rust's compressed form: single addresses have no zero
    /// group, so nothing compresses; a /48 ends in `::`.
    fn ip_bans(&self) -> String {
        let group = |i: usize| {
            format!(
                "to_hex(1 + ('x' || substr(h, {}, 4))::bit(16)::int % 65535)",
                4 * i - 3
            )
        };
        let v6_head = "to_hex(8192 + k % 4096) || ':' || to_hex(1 + k / 4096)";
        let v6_tail: Vec<String> = (3..=8).map(group).collect();
        format!(
            "INSERT INTO bans (id, application_id, kind, value, match_key, reason, created_at, \
                 expires_at) \
             {select} \
             FROM (SELECT k, at, h, value, 'ip:' || value || CASE WHEN value LIKE '%/%' THEN '' \
                     WHEN value LIKE '%:%' THEN '/128' ELSE '/32' END AS match_key \
                 FROM (SELECT k, {at} AS at, md5('ip ban' || k) AS h \
                     FROM generate_series(1, {IP_BANS}) AS k) AS series, \
                 LATERAL (SELECT CASE \
                     WHEN k % 20 < 9 THEN format('%s.%s.%s.%s', 11 + k % 100, \
                         k / 100 * 40503 % 16777216 / 65536, k / 100 * 40503 % 65536 / 256, \
                         k / 100 * 40503 % 256) \
                     WHEN k % 20 < 18 THEN {v6_head} || ':' || {v6_single} \
                     WHEN k % 20 = 18 THEN format('%s.%s.%s.0/24', 128 + k % 64, \
                         k / 64 * 2531 % 65536 / 256, k / 64 * 2531 % 256) \
                     ELSE {v6_head} || ':' || {v6_range} || '::/48' END AS value) AS ip) AS s",
            select = self.ban_select("ip"),
            at = self.at("k", "10 minutes"),
            v6_single = v6_tail.join(" || ':' || "),
            v6_range = v6_tail[0],
        )
    }

    /// What the server records before an application's first IP ban of each prefix length
    /// (`ip_ban_prefix_lengths`): the four lengths of [`Seed::ip_bans`], IPv4 /32 and /24,
    /// IPv6 /128 and /48.
    fn ip_ban_prefix_lengths(&self) -> String {
        format!(
            "INSERT INTO ip_ban_prefix_lengths (application_id, ipv6, prefix_len) \
             SELECT DISTINCT application_id, match_key LIKE 'ip:%:%', \
                 split_part(match_key, '/', 2)::smallint \
             FROM bans WHERE application_id = '{app}' AND kind = 'ip'",
            app = self.app,
        )
    }

    /// Hardware ids look like the hashes clients usually send; none is one the sign-ups use.
    fn hardware_id_bans(&self) -> String {
        format!(
            "INSERT INTO bans (id, application_id, kind, value, match_key, reason, created_at, \
                 expires_at) \
             {select} \
             FROM (SELECT k, at, h, h AS value, 'hardware_id:' || h AS match_key \
                 FROM (SELECT k, {at} AS at, md5('hardware id ban' || k) AS h \
                     FROM generate_series(1, {HARDWARE_ID_BANS}) AS k) AS series) AS s",
            select = self.ban_select("hardware_id"),
            // Between the IP bans, which come every ten minutes from the start.
            at = self.at("k", "10 minutes") + " + interval '5 minutes'",
        )
    }
}

/// How long each step of growing the database took.
pub struct Growth {
    pub steps: Vec<(&'static str, Duration)>,
}

impl Growth {
    pub fn total(&self) -> Duration {
        self.steps.iter().map(|(_, took)| *took).sum()
    }
}

/// Grows `database` (schema made and `app` created by the server) with plain `INSERT …
/// SELECT`s, as a bulk import would, then
///
/// - `VACUUM ANALYZE`: autovacuum would do the same shortly after such a load (where it is
///   on), and without it plans would be made on the statistics of empty tables, which is not
///   the state of a database that grew over two years;
/// - `CHECKPOINT`: the load wrote about a GB of WAL, and the checkpoint it triggers would
///   otherwise write it out during the sign-up blocks.
pub fn grow(postgres: &Postgres, database: &Database<'_>, app: &str) -> Growth {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let seed = Seed {
        app,
        epoch: now.as_secs() - 2 * 365 * 24 * 3600,
    };
    let vacuum = "VACUUM ANALYZE users, licenses, bans".to_owned();
    let steps = [
        ("users", seed.users(), Some(USERS)),
        ("licenses", seed.licenses(), Some(LICENSES)),
        ("ip bans", seed.ip_bans(), Some(IP_BANS)),
        (
            "ip ban prefix lengths",
            seed.ip_ban_prefix_lengths(),
            Some(4),
        ),
        (
            "hardware-id bans",
            seed.hardware_id_bans(),
            Some(HARDWARE_ID_BANS),
        ),
        ("vacuum analyze", vacuum, None),
        ("checkpoint", "CHECKPOINT".to_owned(), None),
    ];
    let steps = steps
        .into_iter()
        .map(|(label, sql, rows)| {
            let started = Instant::now();
            let output = postgres.psql(&database.name, &sql);
            if let Some(rows) = rows {
                assert_eq!(output.trim(), format!("INSERT 0 {rows}"), "seeding {label}");
            }
            (label, started.elapsed())
        })
        .collect();
    Growth { steps }
}
