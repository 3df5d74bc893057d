//! sea-orm implementations of every storage port, on PostgreSQL or SQLite.
//!
//! One [`SeaOrmStore`] implements all the ports over one connection pool; each module holds
//! one port and the conversions between its table and the domain type.

mod applications;
mod bans;
mod batch;
mod connection;
mod devices;
mod endpoint_cache;
mod entities;
mod events;
mod fan_out;
mod files;
mod licenses;
mod nonces;
mod operators;
mod overview;
mod pages;
mod purge;
mod sessions;
mod transaction;
mod user_variables;
mod users;
mod webhooks;

#[cfg(feature = "testing")]
pub mod plans;
#[cfg(feature = "testing")]
pub mod testing;

pub use connection::{DatabaseSettings, SeaOrmStore};

/// Rows per multi-row insert: a 1000-license batch's events, times its webhook endpoints,
/// stays below SQLite's 32766 and PostgreSQL's 65535 bound values per statement.
pub(crate) const MAX_ROWS_PER_INSERT: usize = 1000;
