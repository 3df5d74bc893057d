//! End-to-end tests: each starts the real server on port 0 over a fresh database and calls
//! it over HTTP. Every scenario runs on PostgreSQL and on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/eventually.rs"]
mod eventually;
mod helpers;
#[path = "../support/receiver.rs"]
mod receiver;

mod admin;
mod anonymous;
mod audit;
mod client_sdk;
mod console;
mod console_audit;
mod console_bans;
mod console_files;
mod console_forms;
mod console_helpers;
mod console_licenses;
mod console_settings;
mod console_users;
mod console_variables;
mod console_webhooks;
mod cross_bans;
mod faults;
mod files;
mod instances;
mod legacy_auth;
mod license_sign_up;
mod limits;
mod lists;
mod metrics;
mod operator;
mod plans;
mod races;
mod request_signing;
mod rfc9421;
mod secrets;
mod service;
mod sign_in;
mod sign_up;
mod signing;
mod user_admin;
mod user_variables;
mod webhooks;
