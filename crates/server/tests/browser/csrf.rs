//! Forged forms are refused, as a browser sends them: a form whose CSRF token was taken
//! out, and a form on another origin of the same site (`http://127.0.0.1:<other port>`,
//! which `SameSite=Strict` does not stop: same site, so the browser sends the session
//! cookie) that even carries the right token, so only the `Origin` check refuses it.
//!
//! The foreign page is a real page served from another port, not a request made up with a
//! forged `Origin`: a browser sets `Origin` itself, and this is the attack the check is for.

use crate::console_helpers::create_operator;
use crate::driver::Browser;
use crate::helpers::{Backend, TestApp};
use crate::support::OWNER;
use domain::operator_account::OperatorRole;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `html` to every request on a port of its own; its base URL.
async fn serve_page(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0_u8; 4096];
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_token_or_from_another_origin_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    create_operator(&app, OWNER, OperatorRole::Owner).await;
    let browser = Browser::signed_in(&app, OWNER).await;
    let token = browser.csrf().await;

    // The create form with its hidden token taken out.
    browser
        .client
        .execute(
            "document.querySelector(\"form[action='/console/apps'] input[name=csrf]\").remove()",
            vec![],
        )
        .await
        .unwrap();
    browser.fill("Name", "Without Token").await;
    browser.press("Create").await;
    browser.wait_for_heading("Refused").await;
    assert!(
        browser.main_text().await.contains("reload the page"),
        "{}",
        browser.main_text().await
    );
    browser.screenshot("refused").await;

    // A page on another origin of the same site, whose form carries the real token.
    let evil = serve_page(format!(
        "<!doctype html><title>Prizes</title><h1>Prizes</h1>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
         <input type=\"hidden\" name=\"name\" value=\"From Elsewhere\">\
         <button type=\"submit\">Claim</button></form>",
        action = app.url("/console/apps"),
    ))
    .await;
    browser.client.goto(&evil).await.unwrap();
    browser.wait_for_heading("Prizes").await;
    browser.press("Claim").await;
    browser.wait_for_heading("Refused").await;
    assert_eq!(browser.path().await, "/console/apps");
    let text = browser.main_text().await;
    assert!(text.contains("sent from another site"), "{text}");

    // Neither was created; the same token from the console's own form works, so it was the
    // origin that was refused.
    browser.open(&app, "/console").await;
    browser.wait_for_heading("Applications").await;
    let text = browser.main_text().await;
    assert!(!text.contains("Without Token"), "{text}");
    assert!(!text.contains("From Elsewhere"), "{text}");
    assert_eq!(browser.csrf().await, token);
    browser.fill("Name", "From Here").await;
    browser.press("Create").await;
    browser.wait_for_heading("From Here is created").await;
    browser.close().await;
}
