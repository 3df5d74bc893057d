//! The deployment kit under `deploy/` (Dockerfile, Compose, Kubernetes, systemd), checked by
//! reading it: no image is built and no cluster is asked. Every YAML file parses; every
//! `LATCHKEY__SECTION__KEY` the kit sets, or suggests in a comment, names a real setting, and
//! its value is one the settings loader accepts; probes and health checks use `/livez` and
//! `/readyz` as intended; the Kubernetes objects refer to each other correctly; and every
//! stop timeout outlasts the server's drain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use server::settings::Settings;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

const PREFIX: &str = "LATCHKEY__";

/// Settings that have no default, so `settings.rs` never names them in a `set_default` call:
/// each is an `Option` whose absence turns a feature off. `operator.token` (no operator API),
/// `limits.redis_url` (rate-limit counters per instance) and `metrics.bind` (no metrics
/// listener).
const OPTIONAL_KEYS: [&str; 7] = [
    "operator.token",
    "limits.redis_url",
    "metrics.bind",
    "secrets.master_key",
    "secrets.master_key_file",
    "secrets.previous_master_key",
    "secrets.previous_master_key_file",
];

/// Paths the probes and health checks may use.
const HEALTH_PATHS: [&str; 3] = ["/livez", "/readyz", "/metrics"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy_dir() -> PathBuf {
    workspace().join("deploy")
}

/// `path` as written in messages: relative to the workspace, e.g. `deploy/Dockerfile`.
fn shown(path: &Path) -> String {
    let root = workspace().canonicalize().unwrap();
    let path = path.canonicalize().unwrap();
    path.strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string()
}

/// Every file under `dir`, recursively, in a stable order.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    )
}

/// Every document of every YAML file under `deploy/`; a file that does not parse fails here.
fn yaml_files() -> Vec<(PathBuf, Vec<Yaml>)> {
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for path in files_under(&deploy_dir())
        .into_iter()
        .filter(|p| is_yaml(p))
    {
        let text = fs::read_to_string(&path).unwrap();
        match YamlLoader::load_from_str(&text) {
            Ok(documents) => parsed.push((path, documents)),
            Err(error) => errors.push(format!("{}: {error}", shown(&path))),
        }
    }
    assert!(
        errors.is_empty(),
        "YAML that does not parse:\n{}",
        errors.join("\n")
    );
    parsed
}

/// The configuration keys (`section.key`) with their default as written in `settings.rs`
/// (`None` for the optional keys). `Settings` is not `Serialize`, so the keys are read from the
/// source: every `.set_default("section.key", value)` call.
fn known_settings() -> BTreeMap<String, Option<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/settings.rs");
    let source = fs::read_to_string(&path).unwrap();
    let mut known = BTreeMap::new();
    for call in source.split(".set_default(").skip(1) {
        let call = call.trim_start();
        let Some(rest) = call.strip_prefix('"') else {
            continue;
        };
        let (key, rest) = rest.split_once('"').unwrap();
        let value = rest
            .trim_start()
            .trim_start_matches(',')
            .split(')')
            .next()
            .unwrap()
            .trim()
            .trim_matches('"');
        known.insert(key.to_owned(), Some(value.to_owned()));
    }
    assert!(
        known.len() >= 10,
        "found only {} set_default calls in {}: has the way defaults are written changed?",
        known.len(),
        path.display()
    );
    for key in OPTIONAL_KEYS {
        known.entry(key.to_owned()).or_insert(None);
    }
    known
}

/// `LATCHKEY__HTTP__TRUSTED_PROXIES` → `http.trusted_proxies`, as the `config` crate maps it.
fn setting_key(name: &str) -> Option<String> {
    let rest = name.strip_prefix(PREFIX)?;
    let parts: Vec<&str> = rest.split("__").collect();
    (parts.len() == 2 && parts.iter().all(|part| !part.is_empty()))
        .then(|| parts.join(".").to_lowercase())
}

/// A variable the kit sets: its name and, when it is given one, its value.
#[derive(Debug)]
struct Variable {
    name: String,
    value: Option<String>,
}

fn scalar(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Environment variables set in a YAML document: Kubernetes `env` lists, ConfigMap and Secret
/// data, and Compose `environment` maps and lists.
fn yaml_variables(node: &Yaml, out: &mut Vec<Variable>) {
    match node {
        Yaml::Hash(map) => {
            let kind = node["kind"].as_str();
            for (key, value) in map {
                match (key.as_str(), value) {
                    (Some("environment"), Yaml::Hash(vars)) => {
                        out.extend(vars.iter().filter_map(|(name, value)| {
                            Some(Variable {
                                name: name.as_str()?.to_owned(),
                                value: scalar(value),
                            })
                        }));
                    }
                    (Some("environment"), Yaml::Array(items)) => {
                        out.extend(items.iter().filter_map(Yaml::as_str).map(|item| {
                            match item.split_once('=') {
                                Some((name, value)) => Variable {
                                    name: name.to_owned(),
                                    value: Some(value.to_owned()),
                                },
                                None => Variable {
                                    name: item.to_owned(),
                                    value: None,
                                },
                            }
                        }));
                    }
                    (Some("env"), Yaml::Array(items)) => {
                        out.extend(items.iter().filter_map(|item| {
                            Some(Variable {
                                name: item["name"].as_str()?.to_owned(),
                                value: scalar(&item["value"]),
                            })
                        }));
                    }
                    (Some(section @ ("data" | "stringData")), Yaml::Hash(vars))
                        if matches!(kind, Some("ConfigMap" | "Secret")) =>
                    {
                        // A Secret's `data` is base64: its names count, its values are not read.
                        let plain = !(kind == Some("Secret") && section == "data");
                        out.extend(vars.iter().filter_map(|(name, value)| {
                            Some(Variable {
                                name: name.as_str()?.to_owned(),
                                value: scalar(value).filter(|_| plain),
                            })
                        }));
                    }
                    _ => {}
                }
                yaml_variables(value, out);
            }
        }
        Yaml::Array(items) => {
            for item in items {
                yaml_variables(item, out);
            }
        }
        _ => {}
    }
}

fn unquote(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value)
}

/// `ENV NAME=value ...` instructions of a Dockerfile (continuation lines joined).
fn dockerfile_variables(text: &str, out: &mut Vec<Variable>) {
    let joined = text.replace("\\\n", " ");
    for line in joined.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("ENV") {
            continue;
        }
        for word in words {
            let (name, value) = word.split_once('=').unwrap_or((word, ""));
            out.push(Variable {
                name: name.to_owned(),
                value: Some(unquote(value).to_owned()),
            });
        }
    }
}

/// The `NAME=value` lines of a systemd environment file (comments skipped).
fn env_file_variables(text: &str, out: &mut Vec<Variable>) {
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = line.split_once('=') {
            out.push(Variable {
                name: name.trim().to_owned(),
                value: Some(unquote(value).to_owned()),
            });
        }
    }
}

/// The variables a file sets, with their values, read according to its kind.
fn set_variables(path: &Path) -> Vec<Variable> {
    let text = fs::read_to_string(path).unwrap();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut out = Vec::new();
    if is_yaml(path) {
        // A file that does not parse is reported by `every_yaml_file_under_deploy_parses`.
        for document in YamlLoader::load_from_str(&text).unwrap_or_default() {
            yaml_variables(&document, &mut out);
        }
    } else if name == "Dockerfile" || name.ends_with(".Dockerfile") {
        dockerfile_variables(&text, &mut out);
    } else if name.ends_with(".env") || name.ends_with(".env.example") {
        env_file_variables(&text, &mut out);
    }
    out
}

/// Every `LATCHKEY__...` word anywhere in the text, comments included: a commented-out
/// suggestion is copied by someone sooner or later.
fn mentioned_names(text: &str) -> BTreeSet<String> {
    text.match_indices(PREFIX)
        .filter(|(at, _)| {
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn every_yaml_file_under_deploy_parses() {
    let files = yaml_files();
    let names: Vec<String> = files.iter().map(|(path, _)| shown(path)).collect();
    assert!(
        names.iter().any(|n| n.ends_with("docker-compose.yml")),
        "no Compose file among {names:?}"
    );
    assert!(
        names.iter().any(|n| n.contains("kubernetes/")),
        "no Kubernetes manifests among {names:?}"
    );
    for (path, documents) in &files {
        assert!(
            documents.iter().any(|d| !d.is_null()),
            "{}: no YAML document in the file",
            shown(path)
        );
    }
}

#[test]
fn every_latchkey_variable_in_deploy_is_a_real_setting() {
    let known = known_settings();
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in files_under(&deploy_dir()) {
        let file = shown(&path);
        let text = fs::read_to_string(&path).unwrap();
        let mut names = mentioned_names(&text);
        for variable in set_variables(&path) {
            // A single underscore is silently ignored by the loader: LATCHKEY_HTTP_BIND sets nothing.
            if variable.name.to_uppercase().starts_with("LATCHKEY_")
                && !variable.name.starts_with(PREFIX)
            {
                problems.push(format!(
                    "{file}: {} is not read by latchkey: the prefix is LATCHKEY__ (two underscores, upper case)",
                    variable.name
                ));
            }
            if variable.name.starts_with(PREFIX) {
                names.insert(variable.name);
            }
        }
        for name in names {
            checked += 1;
            match setting_key(&name) {
                None => problems.push(format!(
                    "{file}: {name} is not of the form LATCHKEY__SECTION__KEY"
                )),
                Some(key) if !known.contains_key(&key) => problems.push(format!(
                    "{file}: {name} names `{key}`, which is not a configuration key"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(checked > 0, "no LATCHKEY__ variable found under deploy/");
    assert!(
        problems.is_empty(),
        "unknown settings in the deployment kit:\n{}\nknown keys: {}",
        problems.join("\n"),
        known.keys().cloned().collect::<Vec<_>>().join(", ")
    );
}

/// Each file's values, written as a TOML file and read by the real loader: a wrong type or
/// an unknown log format fails as it would at start. `http.trusted_proxies` is parsed like
/// the server does at start.
#[test]
fn every_value_the_kit_sets_is_accepted_by_the_settings_loader() {
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for path in files_under(&deploy_dir()) {
        let file = shown(&path);
        let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for variable in set_variables(&path) {
            let (Some(key), Some(value)) = (setting_key(&variable.name), variable.value) else {
                continue;
            };
            let (section, key) = key.split_once('.').unwrap();
            if section == "http"
                && key == "trusted_proxies"
                && let Err(error) = adapters_http::TrustedProxies::parse(&value)
            {
                problems.push(format!("{file}: {}: {error}", variable.name));
            }
            sections
                .entry(section.to_owned())
                .or_default()
                .insert(key.to_owned(), value);
        }
        if sections.is_empty() {
            continue;
        }
        let mut toml = String::new();
        for (section, keys) in &sections {
            writeln!(toml, "[{section}]").unwrap();
            for (key, value) in keys {
                // A JSON string is a valid TOML basic string.
                writeln!(toml, "{key} = {}", serde_json::to_string(value).unwrap()).unwrap();
            }
        }
        let config = dir.path().join("settings.toml");
        fs::write(&config, &toml).unwrap();
        if let Err(error) = Settings::load(Some(&config)) {
            problems.push(format!("{file}: {error:#}\n{toml}"));
        }
    }
    assert!(
        problems.is_empty(),
        "values the server would refuse:\n{}",
        problems.join("\n")
    );
}

/// The path of an `http://` or `https://` URL, without its query.
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    path.split(['?', '#']).next().unwrap_or(path).to_owned()
}

#[derive(Default)]
struct Probes {
    problems: Vec<String>,
    liveness: usize,
    readiness: usize,
}

/// Walks a Kubernetes document: every `httpGet` goes to a health path on a declared port,
/// liveness to `/livez`, readiness to `/readyz`, startup to either.
fn check_probes(file: &str, node: &Yaml, ports: &BTreeSet<String>, probes: &mut Probes) {
    match node {
        Yaml::Hash(map) => {
            for (key, value) in map {
                let key = key.as_str().unwrap_or("");
                let expected: &[&str] = match key {
                    "livenessProbe" => &["/livez"],
                    "readinessProbe" => &["/readyz"],
                    "startupProbe" => &["/livez", "/readyz"],
                    _ => &[],
                };
                if !expected.is_empty() {
                    match value["httpGet"]["path"].as_str() {
                        Some(path) if expected.contains(&path) => {}
                        other => probes.problems.push(format!(
                            "{file}: {key} uses {other:?}, expected an httpGet to {expected:?}"
                        )),
                    }
                    probes.liveness += usize::from(key == "livenessProbe");
                    probes.readiness += usize::from(key == "readinessProbe");
                }
                if key == "httpGet" {
                    let path = value["path"].as_str().unwrap_or("");
                    if !HEALTH_PATHS.contains(&path) {
                        probes.problems.push(format!(
                            "{file}: httpGet to {path:?}, not one of {HEALTH_PATHS:?}"
                        ));
                    }
                    let port = scalar(&value["port"]).unwrap_or_default();
                    if !ports.contains(&port) {
                        probes.problems.push(format!(
                            "{file}: httpGet to port {port:?}, which no container declares"
                        ));
                    }
                }
                check_probes(file, value, ports, probes);
            }
        }
        Yaml::Array(items) => {
            for item in items {
                check_probes(file, item, ports, probes);
            }
        }
        _ => {}
    }
}

/// Names and numbers of every `containerPort` in a document.
fn container_ports(node: &Yaml, out: &mut BTreeSet<String>) {
    match node {
        Yaml::Hash(map) => {
            if let Some(port) = node["containerPort"].as_i64() {
                out.insert(port.to_string());
                out.extend(node["name"].as_str().map(str::to_owned));
            }
            for value in map.values() {
                container_ports(value, out);
            }
        }
        Yaml::Array(items) => {
            for item in items {
                container_ports(item, out);
            }
        }
        _ => {}
    }
}

#[test]
fn probes_and_health_checks_use_livez_and_readyz() {
    let mut probes = Probes::default();
    let mut health_checks = 0;
    for (path, documents) in yaml_files() {
        let file = shown(&path);
        for document in &documents {
            if !document["apiVersion"].is_badvalue() {
                let mut ports = BTreeSet::new();
                container_ports(document, &mut ports);
                check_probes(&file, document, &ports, &mut probes);
            }
            let Some(services) = document["services"].as_hash() else {
                continue;
            };
            for (service, definition) in services {
                let service = service.as_str().unwrap_or("?");
                let test = &definition["healthcheck"]["test"];
                let words: Vec<&str> = match test {
                    Yaml::String(command) => command.split_whitespace().collect(),
                    Yaml::Array(items) => items.iter().filter_map(Yaml::as_str).collect(),
                    _ => Vec::new(),
                };
                for url in words
                    .iter()
                    .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
                {
                    health_checks += 1;
                    let path = url_path(url);
                    if !HEALTH_PATHS.contains(&path.as_str()) {
                        probes.problems.push(format!(
                            "{file}: the health check of service {service} requests {path:?}, not one of {HEALTH_PATHS:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        probes.liveness > 0 && probes.readiness > 0,
        "no livenessProbe or no readinessProbe found in deploy/kubernetes"
    );
    assert!(health_checks > 0, "no HTTP health check found in Compose");
    assert!(
        probes.problems.is_empty(),
        "probes and health checks:\n{}",
        probes.problems.join("\n")
    );
}

fn labels_match(selector: &Yaml, labels: &Yaml) -> bool {
    selector
        .as_hash()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| &labels[k.as_str().unwrap()] == v))
}

#[test]
fn kubernetes_objects_refer_to_each_other() {
    let mut objects: Vec<(String, Yaml)> = Vec::new();
    for (path, documents) in yaml_files() {
        if path.starts_with(deploy_dir().join("kubernetes")) {
            let file = shown(&path);
            objects.extend(
                documents
                    .into_iter()
                    .filter(|d| !d.is_null())
                    .map(|d| (file.clone(), d)),
            );
        }
    }
    let named = |kind: &str, name: &str| {
        objects.iter().any(|(_, o)| {
            o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name)
        })
    };
    let deployments: Vec<&Yaml> = objects
        .iter()
        .map(|(_, o)| o)
        .filter(|o| o["kind"].as_str() == Some("Deployment"))
        .collect();
    assert!(
        !deployments.is_empty(),
        "no Deployment in deploy/kubernetes"
    );
    let pod_labels: Vec<&Yaml> = deployments
        .iter()
        .map(|d| &d["spec"]["template"]["metadata"]["labels"])
        .collect();
    let mut pod_ports = BTreeSet::new();
    for deployment in &deployments {
        container_ports(deployment, &mut pod_ports);
    }

    let mut problems = Vec::new();
    for (file, object) in &objects {
        let kind = object["kind"].as_str().unwrap_or("");
        let name = object["metadata"]["name"].as_str().unwrap_or("");
        if object["apiVersion"].as_str().is_none() || kind.is_empty() || name.is_empty() {
            problems.push(format!(
                "{file}: not a Kubernetes object (apiVersion, kind and metadata.name); `kubectl apply -f deploy/kubernetes/` would refuse it"
            ));
        }
        if !object["metadata"]["namespace"].is_badvalue() {
            problems.push(format!(
                "{file}: {kind} {name} names a namespace; the manifests are applied with -n"
            ));
        }
        let selector = match kind {
            "Deployment" | "PodDisruptionBudget" => {
                Some(&object["spec"]["selector"]["matchLabels"])
            }
            "Service" => Some(&object["spec"]["selector"]),
            _ => None,
        };
        if let Some(selector) = selector
            && !pod_labels
                .iter()
                .any(|labels| labels_match(selector, labels))
        {
            problems.push(format!(
                "{file}: the selector of {kind} {name} matches no Deployment's pod labels"
            ));
        }
        if kind == "Service" {
            for port in object["spec"]["ports"].as_vec().into_iter().flatten() {
                let target = scalar(&port["targetPort"]).unwrap_or_default();
                if !pod_ports.contains(&target) {
                    problems.push(format!(
                        "{file}: Service {name} targets port {target:?}, which no container declares"
                    ));
                }
            }
        }
        if kind == "HorizontalPodAutoscaler" {
            let target = &object["spec"]["scaleTargetRef"];
            let (kind, target) = (
                target["kind"].as_str().unwrap_or(""),
                target["name"].as_str().unwrap_or(""),
            );
            if !named(kind, target) {
                problems.push(format!("{file}: HorizontalPodAutoscaler {name} scales {kind} {target:?}, which is not in deploy/kubernetes"));
            }
        }
    }
    for (file, deployment) in &objects {
        if deployment["kind"].as_str() != Some("Deployment") {
            continue;
        }
        let containers = deployment["spec"]["template"]["spec"]["containers"].as_vec();
        for source in containers
            .into_iter()
            .flatten()
            .flat_map(|c| c["envFrom"].as_vec().into_iter().flatten())
        {
            for (reference, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                if let Some(target) = source[reference]["name"].as_str()
                    && !named(kind, target)
                {
                    problems.push(format!(
                        "{file}: envFrom loads {kind} {target:?}, which is not in deploy/kubernetes"
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "Kubernetes manifests:\n{}",
        problems.join("\n")
    );
}

/// Seconds the server may take to stop after SIGTERM with these settings: the drain delay,
/// then the shutdown timeout (defaults from `settings.rs` where a value is not set).
fn stop_budget_secs(values: &BTreeMap<String, String>) -> f64 {
    let known = known_settings();
    let number = |key: &str| -> f64 {
        values
            .get(key)
            .cloned()
            .or_else(|| known[key].clone())
            .unwrap()
            .parse()
            .unwrap_or_else(|e| panic!("{key}: {e}"))
    };
    number("http.drain_delay_ms") / 1000.0 + number("http.shutdown_timeout_secs")
}

fn values_of(variables: Vec<Variable>) -> BTreeMap<String, String> {
    variables
        .into_iter()
        .filter_map(|v| Some((setting_key(&v.name)?, v.value?)))
        .collect()
}

#[test]
fn every_stop_timeout_outlasts_the_drain() {
    let deploy = deploy_dir();
    let mut problems = Vec::new();

    let kubernetes = files_under(&deploy.join("kubernetes"));
    let values = values_of(kubernetes.iter().flat_map(|p| set_variables(p)).collect());
    let budget = stop_budget_secs(&values);
    for (path, documents) in yaml_files() {
        for document in &documents {
            if document["kind"].as_str() == Some("Deployment") {
                let grace = &document["spec"]["template"]["spec"]["terminationGracePeriodSeconds"];
                match grace.as_i64() {
                    Some(grace) if grace as f64 > budget => {}
                    other => problems.push(format!(
                        "{}: terminationGracePeriodSeconds {other:?} must exceed drain + shutdown, {budget} s",
                        shown(&path)
                    )),
                }
            }
        }
    }

    let compose = deploy.join("docker-compose.yml");
    let budget = stop_budget_secs(&values_of(set_variables(&compose)));
    let documents = YamlLoader::load_from_str(&fs::read_to_string(&compose).unwrap()).unwrap();
    let grace = documents[0]["services"]["latchkey"]["stop_grace_period"].as_str();
    let seconds: Option<f64> = grace.and_then(|g| g.strip_suffix('s')?.parse().ok());
    if seconds.is_none_or(|s| s <= budget) {
        problems.push(format!(
            "deploy/docker-compose.yml: stop_grace_period {grace:?} of latchkey must exceed drain + shutdown, {budget} s (and be written in seconds, e.g. 40s)"
        ));
    }

    let unit = fs::read_to_string(deploy.join("systemd/latchkey.service")).unwrap();
    let budget = stop_budget_secs(&values_of(set_variables(
        &deploy.join("systemd/latchkey.env.example"),
    )));
    let timeout = unit
        .lines()
        .find_map(|line| line.strip_prefix("TimeoutStopSec="))
        .and_then(|t| t.trim().parse::<f64>().ok());
    if timeout.is_none_or(|t| t <= budget) {
        problems.push(format!(
            "deploy/systemd/latchkey.service: TimeoutStopSec {timeout:?} must exceed drain + shutdown, {budget} s"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
