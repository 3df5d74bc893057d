//! Latchkey's domain: the rules of signing up, licensing and banning, and the ports through
//! which they reach storage and the runtime. No web framework, no database, no serde here.

pub mod application;
pub mod ban;
pub mod crypto;
pub mod duration;
pub mod errors;
pub mod event;
pub mod file;
pub mod license;
pub mod operator_account;
pub mod overview;
pub mod page;
pub mod ports;
pub mod services;
pub mod session;
pub mod user;
pub mod values;
pub mod webhook;

pub use services::Latchkey;
