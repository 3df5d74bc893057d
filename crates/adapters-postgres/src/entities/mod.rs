//! sea-orm models of the tables in `migrations/`. They never leave this crate.

pub mod adjustment;
pub mod application;
pub mod ban;
pub mod console_session;
pub mod device;
pub mod event;
pub mod file;
pub mod ip_ban_prefix_length;
pub mod license;
pub mod operator_account;
pub mod operator_backup_code;
pub mod request_nonce;
pub mod session;
pub mod user;
pub mod user_variable;
pub mod variable;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
