//! The console's licenses screen over HTTP: minting with a typed duration (the codes shown
//! once, with a CSV in a `data:` link), the list's filters and code search, revoking and
//! deleting a selection after a confirmation, bad input, and what support may not do.

use crate::console_helpers::{Browser, create_operator, hidden};
use crate::helpers::{AppCredentials, Backend, TestApp, send};
use crate::on_both_backends;
use domain::operator_account::OperatorRole;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    an_owner_mints_codes_shown_once_with_a_csv_download_and_finds_one_by_its_code,
    bad_mint_input_says_what_to_correct_and_mints_nothing,
    a_selection_is_deleted_or_revoked_after_a_confirmation_that_says_how_many,
    a_support_operator_reads_the_list_but_cannot_mint_revoke_or_delete,
);

const OWNER: &str = "owner@example.com";
const SUPPORT: &str = "support@example.com";

async fn api_licenses(app: &TestApp, credentials: &AppCredentials, query: &str) -> Vec<Value> {
    let (status, body) = send(app.admin(
        credentials,
        Method::GET,
        &format!("/api/admin/licenses?{query}"),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["licenses"].as_array().unwrap().clone()
}

async fn api_mint(app: &TestApp, credentials: &AppCredentials, count: u32) -> Vec<Value> {
    let (status, body) = send(
        app.admin(credentials, Method::POST, "/api/admin/licenses")
            .json(&json!({"count": count, "minutes": 60})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["licenses"].as_array().unwrap().clone()
}

/// The codes of a minted page, in order.
fn codes(html: &str) -> Vec<String> {
    html.split(r#"<code class="license-code">"#)
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_owned())
        .collect()
}

/// The `href` of the CSV link, percent-decoded.
fn csv(html: &str) -> String {
    let marker = r#"href="data:text/csv;charset=utf-8,"#;
    let start = html.find(marker).expect("a CSV link") + marker.len();
    let end = html[start..].find('"').unwrap();
    let encoded = &html[start..start + end];
    let bytes: Vec<u8> = url::form_urlencoded::parse(format!("x={encoded}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned()
        .into_bytes();
    String::from_utf8(bytes).unwrap()
}

async fn an_owner_mints_codes_shown_once_with_a_csv_download_and_finds_one_by_its_code(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/licenses", credentials.id);

    let empty = browser.get(&path).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains(r#"id="mint-count""#));
    assert!(empty.body.contains(r#"<label for="mint-duration">"#));
    assert!(empty.body.contains("No license here yet."));
    let csrf = empty.csrf();

    let minted = browser
        .post(
            &format!("{path}/mint"),
            &[("csrf", &csrf), ("count", "3"), ("duration", "3d 4h")],
        )
        .await;
    assert_eq!(minted.status, StatusCode::OK, "{}", minted.body);
    let shown = codes(&minted.body);
    assert_eq!(shown.len(), 3, "{}", minted.body);
    assert!(
        minted
            .body
            .contains(r#"id="csv-download" download="licenses-"#)
    );
    let csv = csv(&minted.body);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,code,minutes,created_at");
    assert_eq!(lines.len(), 4);
    for (line, code) in lines[1..].iter().zip(&shown) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[1], code);
        assert_eq!(fields[2], (3 * 1440 + 4 * 60).to_string());
    }
    // The CSP governs fetches and frames, not a download link's data: URL.
    let csp = minted.headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("navigate-to"), "{csp}");

    let stored = api_licenses(&app, &credentials, "").await;
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|license| license["minutes"] == 4560));

    let (status, body) = app
        .license_sign_up(&credentials, json!({"code": shown[0]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The codes were shown once: no list page shows any of them again.
    let listed = browser.get(&path).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body.matches(r#"name="id" value=""#).count(), 3);
    assert!(
        shown
            .iter()
            .all(|code| !listed.body.contains(code.as_str()))
    );
    assert!(listed.body.contains("3d 4h"));

    let found = browser
        .get(&format!("{path}?code={}", shown[0].to_lowercase()))
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(
        found.body.matches(r#"name="id" value=""#).count(),
        1,
        "{}",
        found.body
    );
    let used_by = found
        .body
        .contains(&format!("/console/apps/{}/users/", credentials.id));
    assert!(
        used_by,
        "the row links to the user who used it: {}",
        found.body
    );
    assert!(
        !found.body.contains(shown[0].as_str()),
        "the code is not echoed"
    );

    let unknown = browser.get(&format!("{path}?code=ZZZZ-ZZZZ-ZZZZ")).await;
    assert!(unknown.body.contains("No license with this code"));
    let malformed = browser.get(&format!("{path}?code=%21%21")).await;
    assert_eq!(malformed.status, StatusCode::OK);
    assert!(malformed.body.contains("That is not a license code"));

    let used = browser.get(&format!("{path}?status=used")).await;
    assert_eq!(used.body.matches(r#"name="id" value=""#).count(), 1);
    let unused = browser.get(&format!("{path}?status=unused")).await;
    assert_eq!(unused.body.matches(r#"name="id" value=""#).count(), 2);
    let banned = browser.get(&format!("{path}?status=banned")).await;
    assert_eq!(banned.body.matches(r#"name="id" value=""#).count(), 0);

    // Its user deleted, the used license stays, used by "a deleted user".
    let marker = format!("/console/apps/{}/users/", credentials.id);
    let start = found.body.find(&marker).unwrap() + marker.len();
    let user = &found.body[start..start + 36];
    let user_page = format!("{marker}{user}");
    let csrf = browser.get(&user_page).await.csrf();
    let deleted = browser
        .post(
            &format!("{user_page}/delete"),
            &[("csrf", csrf.as_str()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    let used = browser.get(&format!("{path}?status=used")).await;
    assert_eq!(used.body.matches(r#"name="id" value=""#).count(), 1);
    assert!(used.body.contains("a deleted user"), "{}", used.body);
}

async fn bad_mint_input_says_what_to_correct_and_mints_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/licenses", credentials.id);
    let csrf = browser.get(&path).await.csrf();
    for (count, duration, message) in [
        (
            "0",
            "30d",
            "The count must be a whole number from 1 to 1000.",
        ),
        (
            "1001",
            "30d",
            "The count must be a whole number from 1 to 1000.",
        ),
        (
            "many",
            "30d",
            "The count must be a whole number from 1 to 1000.",
        ),
        ("5", "3x", "is not a duration part"),
        ("5", "", "type a duration such as 30d"),
        ("5", "0d", "at least one minute"),
    ] {
        let refused = browser
            .post(
                &format!("{path}/mint"),
                &[("csrf", &csrf), ("count", count), ("duration", duration)],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{count} {duration}"
        );
        assert!(
            refused.body.contains(message),
            "{count} {duration}: {}",
            refused.body
        );
        assert!(refused.body.contains(r#"id="mint-error""#));
        assert_eq!(
            hidden(&refused.body, "count").or_else(|| {
                let marker = r#"name="count" type="number" min="1" max="1000" required value=""#;
                let start = refused.body.find(marker)? + marker.len();
                Some(refused.body[start..start + refused.body[start..].find('"')?].to_owned())
            }),
            Some(count.to_owned()),
            "the typed count is shown again"
        );
    }
    // Without the form's token, or from another origin, nothing is minted.
    let no_token = browser
        .post(
            &format!("{path}/mint"),
            &[("csrf", "forged"), ("count", "5"), ("duration", "30d")],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let foreign = browser
        .post_from(
            &format!("{path}/mint"),
            &[("csrf", &csrf), ("count", "5"), ("duration", "30d")],
            Some("http://attacker.example"),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let selection = browser
        .post_from(
            &format!("{path}/selection"),
            &[("csrf", &csrf), ("action", "delete"), ("confirm", "yes")],
            Some("http://attacker.example"),
        )
        .await;
    assert_eq!(selection.status, StatusCode::FORBIDDEN);
    assert!(api_licenses(&app, &credentials, "").await.is_empty());
    let lifetime = browser
        .post(
            &format!("{path}/mint"),
            &[("csrf", &csrf), ("count", "1"), ("duration", "lifetime")],
        )
        .await;
    assert_eq!(lifetime.status, StatusCode::OK);
    let stored = api_licenses(&app, &credentials, "").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["minutes"], Value::Null);
}

async fn a_selection_is_deleted_or_revoked_after_a_confirmation_that_says_how_many(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let credentials = app.create_app(false).await;
    let minted = api_mint(&app, &credentials, 3).await;
    let ids: Vec<String> = minted
        .iter()
        .map(|license| license["id"].as_str().unwrap().to_owned())
        .collect();
    let used_code = minted[0]["code"].as_str().unwrap().to_owned();
    let (status, body) = app
        .license_sign_up(&credentials, json!({"code": used_code}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut browser = Browser::signed_in(&app, OWNER).await;
    let path = format!("/console/apps/{}/licenses", credentials.id);
    let csrf = browser.get(&path).await.csrf();

    let mut fields = vec![("csrf", csrf.as_str()), ("action", "delete")];
    fields.extend(ids.iter().map(|id| ("id", id.as_str())));
    let asked = browser.post(&format!("{path}/selection"), &fields).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(
        asked.body.contains("Delete 3 license(s)?"),
        "{}",
        asked.body
    );
    assert_eq!(asked.body.matches(r#"name="id" value=""#).count(), 3);
    assert_eq!(
        api_licenses(&app, &credentials, "").await.len(),
        3,
        "nothing happens before the confirmation"
    );
    fields.push(("confirm", "yes"));
    let deleted = browser.post(&format!("{path}/selection"), &fields).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(deleted.location(), Some(path.as_str()));
    let after = browser.get(&path).await;
    assert!(
        after
            .body
            .contains("2 license(s) deleted; 1 used, kept (revoke them instead); 0 not found."),
        "{}",
        after.body
    );
    let left = api_licenses(&app, &credentials, "").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], ids[0].as_str());
    let (_, audit) = send(app.admin(
        &credentials,
        Method::GET,
        "/api/admin/audit?action=license.deleted",
    ))
    .await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 2, "{audit}");

    let revoke = [
        ("csrf", csrf.as_str()),
        ("action", "revoke"),
        ("reason", "chargeback"),
        ("id", ids[0].as_str()),
    ];
    let asked = browser.post(&format!("{path}/selection"), &revoke).await;
    assert!(
        asked.body.contains("Revoke 1 license(s)?"),
        "{}",
        asked.body
    );
    let mut confirmed = revoke.to_vec();
    confirmed.push(("confirm", "yes"));
    let revoked = browser.post(&format!("{path}/selection"), &confirmed).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let left = api_licenses(&app, &credentials, "").await;
    assert_eq!(left[0]["is_banned"], true);
    // Revoked: the user who signed up with the code can no longer sign in with it.
    let (status, body) = send(
        app.integration(&credentials, "/api/integration/auth/login")
            .json(&json!({"credentials": {"code": used_code}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, bans) =
        send(app.admin(&credentials, Method::GET, "/api/admin/bans?type=license")).await;
    assert_eq!(bans["bans"][0]["reason"], "chargeback", "{bans}");
    let banned = browser.get(&format!("{path}?status=banned")).await;
    assert_eq!(banned.body.matches(r#"name="id" value=""#).count(), 1);

    let nothing = browser
        .post(
            &format!("{path}/selection"),
            &[("csrf", csrf.as_str()), ("action", "delete")],
        )
        .await;
    assert_eq!(nothing.status, StatusCode::SEE_OTHER);
    assert!(
        browser
            .get(&path)
            .await
            .body
            .contains("No license was selected")
    );
}

async fn a_support_operator_reads_the_list_but_cannot_mint_revoke_or_delete(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    create_operator(&app, SUPPORT, OperatorRole::Support).await;
    let credentials = app.create_app(false).await;
    let minted = api_mint(&app, &credentials, 1).await;
    let id = minted[0]["id"].as_str().unwrap().to_owned();
    let mut browser = Browser::signed_in(&app, SUPPORT).await;
    let path = format!("/console/apps/{}/licenses", credentials.id);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&id));
    assert!(!page.body.contains(r#"id="mint-form""#));
    assert!(!page.body.contains(r#"id="license-revoke""#));
    assert!(!page.body.contains(r#"id="license-delete""#));
    let csrf = page.csrf();

    let mint = browser
        .post(
            &format!("{path}/mint"),
            &[("csrf", &csrf), ("count", "1"), ("duration", "1d")],
        )
        .await;
    assert_eq!(mint.status, StatusCode::FORBIDDEN);
    for action in ["delete", "revoke"] {
        let refused = browser
            .post(
                &format!("{path}/selection"),
                &[
                    ("csrf", csrf.as_str()),
                    ("action", action),
                    ("id", id.as_str()),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{action}");
    }
    let left = api_licenses(&app, &credentials, "").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["is_banned"], false);
}
