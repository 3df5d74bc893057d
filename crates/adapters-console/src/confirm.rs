//! The confirmation step of destructive actions, without JavaScript: the first POST (with no
//! `confirm=yes`) answers a page that restates the action and re-posts the same fields plus
//! `confirm=yes`; only that second POST acts. Both POSTs pass the CSRF check.
//!
//! ```ignore
//! async fn lift(req: HttpRequest, state: web::Data<ConsoleState>, who: SignedIn, …) {
//!     who.verify_csrf(&req, &form.csrf)?;
//!     who.require(ConsoleAction::Delete)?;
//!     if !confirm::confirmed(form.confirm.as_deref()) {
//!         let layout = Layout::signed_in("Lift a ban", &who, &state, &req, Some(app_id)).await?;
//!         return confirm::ask(layout, "Lift this ban?", "203.0.113.7 can sign in again.",
//!             &format!("{back}/lift"), &[], "Lift the ban", &back);
//!     }
//!     // act, then flash::redirect_with(…)
//! }
//! ```

use crate::page::{ConsoleError, Layout, render};
use actix_web::HttpResponse;
use askama::Template;

/// Whether the form's `confirm` field says the operator confirmed.
#[must_use]
pub fn confirmed(confirm: Option<&str>) -> bool {
    confirm == Some("yes")
}

struct Field {
    name: String,
    value: String,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    layout: Layout,
    question: &'a str,
    consequence: &'a str,
    action: &'a str,
    fields: Vec<Field>,
    button: &'a str,
    cancel: &'a str,
}

/// The confirmation page for a POST to `action` with `fields` (the CSRF token is added from
/// the layout). `cancel` is where "Cancel" leads.
///
/// # Errors
/// When the page fails to render.
pub fn ask(
    layout: Layout,
    question: &str,
    consequence: &str,
    action: &str,
    fields: &[(&str, &str)],
    button: &str,
    cancel: &str,
) -> Result<HttpResponse, ConsoleError> {
    let page = ConfirmPage {
        layout,
        question,
        consequence,
        action,
        fields: fields
            .iter()
            .map(|(name, value)| Field {
                name: (*name).to_owned(),
                value: (*value).to_owned(),
            })
            .collect(),
        button,
        cancel,
    };
    render(&page, &page.layout)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_confirmation_page_reposts_every_field_with_confirm_yes_and_escapes_them() {
        let layout = Layout {
            title: "Confirm".to_owned(),
            operator: None,
            csrf: "token123".to_owned(),
            flash: None,
            current_app: None,
        };
        let response = ask(
            layout,
            "Delete <this>?",
            "It cannot be undone.",
            "/console/x/delete",
            &[("id", "\"><script>")],
            "Delete",
            "/console",
        )
        .unwrap();
        assert_eq!(response.status(), 200);
        let body = actix_web::body::to_bytes(response.into_body());
        let body = body_text(body);
        assert!(body.contains(r#"name="confirm" value="yes""#));
        assert!(body.contains(r#"name="csrf" value="token123""#));
        assert!(body.contains("Delete &#60;this&#62;?") || body.contains("Delete &lt;this&gt;?"));
        assert!(!body.contains("<script>"));
        assert!(confirmed(Some("yes")));
        assert!(!confirmed(Some("no")) && !confirmed(None));
    }

    fn body_text<F: std::future::Future<Output = Result<actix_web::web::Bytes, E>>, E>(
        future: F,
    ) -> String {
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
            .ok()
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}
