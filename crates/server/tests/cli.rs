//! The `latchkey` binary's commands, run as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn latchkey(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .current_dir(dir)
        .env_remove("LATCHKEY__DATABASE__URL")
        .env_remove("LATCHKEY__OPERATOR__TOKEN")
        .env("RUST_LOG", "warn")
        .output()
        .expect("latchkey runs")
}

#[test]
fn with_no_configuration_migrate_creates_the_sqlite_file_under_data() {
    let dir = tempfile::tempdir().unwrap();
    let output = latchkey(dir.path(), &["migrate"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("data/latchkey.db").exists());
}

#[test]
fn apps_create_prints_the_operator_api_json_once() {
    let dir = tempfile::tempdir().unwrap();
    let output = latchkey(
        dir.path(),
        &[
            "apps",
            "create",
            "--name",
            "Shop App",
            "--device-authentication",
            "false",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(created["name"], "Shop App");
    assert_eq!(created["device_authentication"], false);
    for (field, prefix) in [
        ("api_key", "lk_app_"),
        ("api_secret", "lk_sec_"),
        ("admin_api_key", "lk_adm_"),
    ] {
        assert!(
            created[field].as_str().unwrap().starts_with(prefix),
            "{field}"
        );
    }
    let database = std::fs::read(dir.path().join("data/latchkey.db")).unwrap();
    let secret = created["api_secret"].as_str().unwrap();
    assert!(!String::from_utf8_lossy(&database).contains(secret));
}

#[test]
fn a_bad_name_or_flag_fails_with_a_message_and_no_application() {
    let dir = tempfile::tempdir().unwrap();
    let output = latchkey(dir.path(), &["apps", "create", "--name", " "]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--name"));
    let output = latchkey(
        dir.path(),
        &[
            "apps",
            "create",
            "--name",
            "x",
            "--device-authentication",
            "maybe",
        ],
    );
    assert!(!output.status.success());
}

fn operators_create(dir: &Path, email: &str, password: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["operators", "create", "--email", email, "--password-stdin"])
        .current_dir(dir)
        .env_remove("LATCHKEY__DATABASE__URL")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("latchkey runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn operators_create_reads_the_password_from_stdin_and_refuses_a_taken_email() {
    let dir = tempfile::tempdir().unwrap();
    let output = operators_create(dir.path(), "Owner@Example.com", "a long password");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(created["email"], "owner@example.com");
    assert_eq!(created["role"], "owner");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("a long password"));
    let again = operators_create(dir.path(), "owner@example.com", "another password");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let short = operators_create(dir.path(), "short@example.com", "short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
}
