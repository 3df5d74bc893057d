//! sea-orm implementations of every storage port, on PostgreSQL or SQLite.
//!
//! One [`SeaOrmStore`] implements all the ports over one connection pool; each module holds
//! one port and the conversions between its table and the domain type.

mod applications;
mod bans;
mod connection;
mod devices;
mod entities;
mod events;
mod licenses;
mod nonces;
mod pages;
mod purge;
mod sessions;
mod transaction;
mod user_variables;
mod users;
mod webhooks;

#[cfg(feature = "testing")]
pub mod testing;

pub use connection::{DatabaseSettings, SeaOrmStore};
