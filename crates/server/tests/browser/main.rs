//! Browser tests: the real server on a fresh database, driven by a real headless Chromium
//! ([`driver::Browser`]) through the console's pages as an operator uses them. Every screen
//! is photographed into `target/console-shots/` on the way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../api/console_helpers.rs"]
mod console_helpers;
mod driver;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod support;

mod bans;
mod csrf;
mod licenses;
mod roles;
mod settings;
mod sign_in;
mod tour;
mod users;
