//! An application's variables: the list (by name, 50 a page), setting one (create or replace, public or not) and
//! deleting one after a confirmation, through the same service as `/api/admin/variables`
//! ([`domain::services::UserAdminApi`]). Owners change them; `support` reads them.

use crate::auth::SignedIn;
use crate::confirm;
use crate::flash;
use crate::page::{ConsoleError, Layout, render_status};
use crate::screens::overview::application;
use crate::state::ConsoleState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use domain::operator_account::ConsoleAction;
use domain::page::PageRequest;
use domain::session::{Variable, VariableError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/apps/{id}/variables", web::get().to(list))
        .route("/apps/{id}/variables", web::post().to(set))
        .route("/apps/{id}/variables/delete", web::post().to(delete));
}

struct VariableRow {
    name: String,
    value: String,
    is_public: bool,
    /// The query string that opens the set form on this variable.
    edit: String,
}

/// What the set form holds.
#[derive(Default)]
struct SetFields {
    name: String,
    value: String,
    is_public: bool,
}

#[derive(Template)]
#[template(path = "variables.html")]
struct VariablesPage {
    layout: Layout,
    app_id: String,
    variables: Vec<VariableRow>,
    form: SetFields,
    /// The form edits an existing variable.
    editing: bool,
    error: Option<String>,
    can_set: bool,
    can_delete: bool,
    /// The query string of the next page.
    next: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    edit: Option<String>,
    /// The name the page starts after.
    after: Option<String>,
}

fn encode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

async fn page(
    req: &HttpRequest,
    state: &ConsoleState,
    who: &SignedIn,
    raw_id: &str,
    query: &ListQuery,
    typed: Option<SetFields>,
    error: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    who.require(ConsoleAction::Read)?;
    let app = application(state, raw_id).await?;
    let listed = state
        .user_admin
        .list_variables_page(app.id, query.after.clone(), PageRequest::DEFAULT_LIMIT)
        .await
        .map_err(ConsoleError::Unknown)?;
    let variables = listed.variables;
    let next = listed
        .next_after
        .map(|after| format!("after={}", encode(&after)));
    // The edit link carries its page's `after`, so the variable is on this page.
    let here = query
        .after
        .as_deref()
        .map_or_else(String::new, |after| format!("after={}&", encode(after)));
    let edited = query
        .edit
        .as_deref()
        .and_then(|name| variables.iter().find(|variable| variable.name == name));
    let editing = typed.is_none() && edited.is_some();
    let form = typed.unwrap_or_else(|| {
        edited.map_or_else(SetFields::default, |variable| SetFields {
            name: variable.name.clone(),
            value: variable.value.clone(),
            is_public: variable.is_public,
        })
    });
    let id = app.id.to_string();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = VariablesPage {
        layout: Layout::signed_in("Variables", who, state, req, Some(id.clone())).await?,
        app_id: id,
        variables: variables
            .into_iter()
            .map(|variable| VariableRow {
                edit: format!("{here}edit={}", encode(&variable.name)),
                name: variable.name,
                value: variable.value,
                is_public: variable.is_public,
            })
            .collect(),
        form,
        editing,
        error,
        can_set: who.account.role.allows(ConsoleAction::Change),
        can_delete: who.account.role.allows(ConsoleAction::Delete),
        next,
    };
    render_status(status, &page, &page.layout)
}

async fn list(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    page(&req, &state, &who, &path, &query, None, None).await
}

#[derive(serde::Deserialize)]
struct SetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    is_public: Option<String>,
}

async fn set(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<SetForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Change)?;
    let app = application(&state, &path).await?;
    let is_public = form.is_public.is_some();
    let variable = match Variable::parse(&form.name, &form.value, is_public) {
        Ok(variable) => variable,
        Err(error) => {
            let message = match error {
                VariableError::Name | VariableError::UserName => {
                    "The name must be 1 to 64 characters without control characters. Change it and save again."
                }
                VariableError::Value => {
                    "The value must be at most 10000 characters, without control characters other than line breaks and tabs. Shorten it and save again."
                }
            };
            let typed = SetFields {
                name: form.name.clone(),
                value: form.value.clone(),
                is_public,
            };
            return page(
                &req,
                &state,
                &who,
                &path,
                &ListQuery::default(),
                Some(typed),
                Some(message.to_owned()),
            )
            .await;
        }
    };
    let name = variable.name.clone();
    state
        .user_admin
        .set_variable(app.id, variable)
        .await
        .map_err(ConsoleError::Unknown)?;
    Ok(flash::redirect_with(
        &format!("/console/apps/{}/variables", app.id),
        &format!("Variable {name} saved."),
    ))
}

#[derive(serde::Deserialize)]
struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    confirm: Option<String>,
}

async fn delete(
    req: HttpRequest,
    state: web::Data<ConsoleState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, ConsoleError> {
    who.verify_csrf(&req, &form.csrf)?;
    who.require(ConsoleAction::Delete)?;
    let app = application(&state, &path).await?;
    let list = format!("/console/apps/{}/variables", app.id);
    if !confirm::confirmed(form.confirm.as_deref()) {
        let layout = Layout::signed_in(
            "Delete a variable",
            &who,
            &state,
            &req,
            Some(app.id.to_string()),
        )
        .await?;
        return confirm::ask(
            layout,
            &format!("Delete the variable {}?", form.name),
            "Programs that read it get nothing from then on. It cannot be undone.",
            &format!("{list}/delete"),
            &[("name", &form.name)],
            "Delete the variable",
            &list,
        );
    }
    let deleted = state
        .user_admin
        .delete_variable(app.id, &form.name)
        .await
        .map_err(ConsoleError::Unknown)?;
    let message = if deleted {
        format!("Variable {} deleted.", form.name)
    } else {
        format!("There was no variable {} (deleted already?).", form.name)
    };
    Ok(flash::redirect_with(&list, &message))
}
