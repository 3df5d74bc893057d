//! Two sides compared block by block: closed-loop license sign-ups on two applications (on
//! one server or on two), in short blocks run in ABBA order, so that the shared machine's
//! drift in speed and its bursts of other work move both sides alike. What `scale` (an empty
//! database against a grown one) and `signing` (response signing on against off) share.

use super::{App, Cpu, Kind, Postgres, Run, Server, closed_loop, mint};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Concurrent closed-loop clients of the sign-up blocks.
pub const CLIENTS: usize = 16;
/// Short blocks, many of them: the other work on this machine comes in bursts of seconds,
/// which fine interleaving spreads over both sides.
pub const BLOCK: Duration = Duration::from_secs(2);
/// Sign-up blocks per side, run in ABBA order: with an even count each side's blocks sit at
/// the same mean position in time, so a linear drift in speed favours neither.
pub const BLOCKS: usize = 6;
pub const WARM_UP: Duration = Duration::from_secs(2);

/// `PASS` or `MISS`, for a goal that was met or not.
pub fn verdict(met: bool) -> &'static str {
    if met { "PASS" } else { "MISS" }
}

/// What some sign-ups cost: CPU (see [`Cpu`]) and the WAL PostgreSQL wrote (over the whole
/// cluster, which only the side being measured writes to).
#[derive(Clone, Copy, Default)]
pub struct Cost {
    pub cpu: Cpu,
    pub wal_bytes: f64,
}

impl Cost {
    fn now(postgres: &Postgres, server: &Server) -> Self {
        let lsn = postgres.psql("postgres", "SELECT pg_current_wal_insert_lsn() - '0/0'");
        Self {
            cpu: Cpu::now(server.pid()),
            wal_bytes: lsn.trim().parse().unwrap(),
        }
    }

    fn since(self, before: Self) -> Self {
        Self {
            cpu: self.cpu.since(before.cpu),
            wal_bytes: self.wal_bytes - before.wal_bytes,
        }
    }

    fn add(&mut self, other: Self) {
        self.cpu.add(other.cpu);
        self.wal_bytes += other.wal_bytes;
    }
}

/// One side of the comparison: its server, its application, its stock of codes, and its
/// blocks of sign-ups with what they cost. Every sign-up comes from a new device, so that an
/// application created with the defaults (device authentication and cross-banning on) takes
/// them.
pub struct Side {
    /// Short, without spaces: it names the side's devices too.
    pub label: &'static str,
    pub server: Arc<Server>,
    pub app: Arc<App>,
    codes: Arc<Mutex<Vec<String>>>,
    pub blocks: Vec<Run>,
    pub cost: Cost,
}

impl Side {
    pub fn new(label: &'static str, server: Arc<Server>, app: App) -> Self {
        Self {
            label,
            server,
            app: Arc::new(app),
            codes: Arc::default(),
            blocks: Vec::new(),
            cost: Cost::default(),
        }
    }

    /// `duration` of closed-loop license sign-ups, each from a new device.
    async fn sign_ups(&self, client: &reqwest::Client, block: &str, duration: Duration) -> Run {
        let devices = format!("{}-{block}-", self.label);
        let kind = Kind::LicenseOnDevice(self.codes.clone(), devices);
        let run = closed_loop(client, &self.server, &self.app, kind, CLIENTS, duration).await;
        assert_eq!(run.failed, 0, "every license sign-up succeeds");
        run
    }

    /// One measured block, with its cost.
    pub async fn block(&mut self, client: &reqwest::Client, postgres: &Postgres, block: usize) {
        let before = Cost::now(postgres, &self.server);
        let run = self.sign_ups(client, &block.to_string(), BLOCK).await;
        self.cost
            .add(Cost::now(postgres, &self.server).since(before));
        self.blocks.push(run);
    }

    /// Adds `count` fresh codes to the stock.
    async fn mint(&self, client: &reqwest::Client, count: usize) {
        let codes = mint(client, &self.server, &self.app, count).await;
        self.codes.lock().unwrap().extend(codes);
    }

    /// A short run sizes the stock of codes for the blocks (half again what they should use),
    /// and warms the server's connections and PostgreSQL's caches.
    pub async fn warm_up(&self, client: &reqwest::Client) {
        self.mint(client, 2000).await;
        let rate = self.sign_ups(client, "warm-up", WARM_UP).await.rate();
        let needed = rate * (BLOCK * BLOCKS as u32).as_secs_f64() * 1.5;
        self.mint(client, needed as usize + 1000).await;
    }

    pub fn total(&self) -> Run {
        let mut total = Run::default();
        for block in &self.blocks {
            total.add(block);
        }
        total
    }

    /// Server CPU per sign-up, in ms.
    pub fn server_ms(&self) -> f64 {
        self.cost.cpu.server * 1000.0 / self.total().ok.max(1) as f64
    }

    /// Prints the side's rate, its blocks' rates and what its sign-ups cost, as `license
    /// sign-ups, <heading>: …`.
    pub fn report(&self, heading: &str) {
        let rates: Vec<String> = self
            .blocks
            .iter()
            .map(|block| format!("{:.1}", block.rate()))
            .collect();
        let total = self.total();
        println!(
            "license sign-ups, {heading}: {} in {:.1} s: {:.1}/s, {} failed (blocks: {}/s)",
            total.ok,
            total.secs,
            total.rate(),
            total.failed,
            rates.join(", ")
        );
        println!(
            "  {}; wal {:.1} kB",
            self.cost.cpu.per_request(total.ok, total.secs),
            self.cost.wal_bytes / 1024.0 / total.ok.max(1) as f64
        );
    }
}

/// Which side runs each block: the first, the second, the second, the first, …
pub const ABBA: [usize; 4] = [0, 1, 1, 0];

/// Warms both sides up, then runs [`BLOCKS`] blocks on each in ABBA order (the first side,
/// the second, the second, the first, …).
pub async fn alternate(client: &reqwest::Client, postgres: &Postgres, sides: &mut [Side; 2]) {
    for side in sides.iter() {
        side.warm_up(client).await;
    }
    for block in 0..2 * BLOCKS {
        sides[ABBA[block % ABBA.len()]]
            .block(client, postgres, block)
            .await;
    }
}
