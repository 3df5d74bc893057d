//! Bodies of the sign-in calls: login, license activation and the application context.

use crate::dto::MembershipResponse;
use crate::dto_files::ListedFile;
use crate::error::ApiError;
use chrono::{DateTime, Utc};
use domain::event::RequestContext;
use domain::services::{ActivateLicense, AppContext, Credentials, Login, SignedIn};
use domain::session::Variable;
use domain::user::Adjustment;
use domain::values::{HardwareId, LicenseCode, Password, Username};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use uuid::Uuid;

/// `{"username", "password"}` or `{"code"}`: exactly one of the two (the fields of the other
/// may only be absent or null). Its schema is [`credentials_schema`].
#[derive(Debug, Deserialize)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct CredentialsRequest {
    pub username: Option<String>,
    pub password: Option<String>,
    /// The license code a user signed up with.
    pub code: Option<String>,
}

/// The fields of [`CredentialsRequest`], read only from a JSON object: serde alone would also
/// read them from an array, by position.
#[derive(Deserialize)]
struct CredentialFields {
    username: Option<String>,
    password: Option<String>,
    code: Option<String>,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for CredentialsRequest {
    type Error = serde_json::Error;

    fn try_from(object: serde_json::Map<String, serde_json::Value>) -> Result<Self, Self::Error> {
        let fields: CredentialFields = serde_json::from_value(object.into())?;
        Ok(Self {
            username: fields.username,
            password: fields.password,
            code: fields.code,
        })
    }
}

/// A string schema.
fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// What a field of the other alternative may be: absent or null.
fn null() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Null)
}

/// A username as the input rules read it. Its letters are any script's, which a JSON Schema
/// pattern cannot name portably, so only its being non-empty is stated here.
pub(crate) fn username_schema() -> ObjectBuilder {
    text().min_length(Some(1)).description(Some(
        "3 to 32 Unicode letters, digits, `_`, `.` or `-` after NFKC; one script \
             (or Latin with Han, Kana or Hangul)",
    ))
}

/// A password as the input rules read it: 8 to 128 code points, any characters.
pub(crate) fn password_schema() -> ObjectBuilder {
    text().min_length(Some(8)).max_length(Some(128))
}

/// The schema of `credentials`: `oneOf` a username and password, or a license code.
pub(crate) fn credentials_schema() -> Schema {
    let password = ObjectBuilder::new()
        .title(Some("UsernameAndPassword"))
        .property("username", username_schema())
        .property("password", password_schema())
        .property("code", null())
        .required("username")
        .required("password");
    let code = ObjectBuilder::new()
        .title(Some("LicenseCode"))
        .property(
            "code",
            crate::dto_licenses::license_code_builder()
                .description(Some("The license code a user signed up with")),
        )
        .property("username", null())
        .property("password", null())
        .required("code");
    Schema::OneOf(OneOfBuilder::new().item(password).item(code).build())
}

fn username_and_password(username: &str, password: &str) -> Result<(Username, Password), ApiError> {
    Ok((
        Username::parse(username).map_err(|e| ApiError::field("username", e))?,
        Password::parse(password).map_err(|e| ApiError::field("password", e))?,
    ))
}

impl CredentialsRequest {
    pub fn try_into_domain(self) -> Result<Credentials, ApiError> {
        match (self.username, self.password, self.code) {
            (Some(username), Some(password), None) => {
                let (username, password) = username_and_password(&username, &password)?;
                Ok(Credentials::Password { username, password })
            }
            (None, None, Some(code)) => Ok(Credentials::LicenseCode(
                LicenseCode::parse(&code).map_err(|e| ApiError::field("code", e))?,
            )),
            _ => Err(ApiError::field(
                "credentials",
                "give username and password, or code",
            )),
        }
    }
}

/// `POST /api/integration/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"credentials": {"username": "john_doe", "password": "secure_password123"}, "hardware_id": "device-hardware-id"}))]
pub struct LoginRequest {
    #[schema(schema_with = credentials_schema)]
    pub credentials: CredentialsRequest,
    /// Required when the application has device authentication on.
    #[schema(schema_with = crate::dto::hardware_id_or_null)]
    pub hardware_id: Option<String>,
}

impl LoginRequest {
    pub fn try_into_domain(self, origin: RequestContext) -> Result<Login, ApiError> {
        let hardware_id = self
            .hardware_id
            .map(|raw| HardwareId::parse(&raw).map_err(|e| ApiError::field("hardware_id", e)))
            .transpose()?;
        Ok(Login {
            credentials: self.credentials.try_into_domain()?,
            hardware_id,
            origin,
        })
    }
}

/// A new session. The token is opaque; send it as `Authorization: Bearer <token>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub session_token: String,
    pub expires_at: DateTime<Utc>,
}

impl From<SignedIn> for LoginResponse {
    fn from(signed_in: SignedIn) -> Self {
        Self {
            session_token: signed_in.token.expose().to_owned(),
            expires_at: signed_in.expires_at,
        }
    }
}

/// `POST /api/integration/activate_license`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActivateLicenseRequest {
    #[schema(schema_with = crate::dto_licenses::license_code)]
    pub code: String,
    #[schema(schema_with = username_schema)]
    pub username: String,
    #[schema(schema_with = password_schema)]
    pub password: String,
}

impl ActivateLicenseRequest {
    pub fn try_into_domain(self, context: RequestContext) -> Result<ActivateLicense, ApiError> {
        let code = LicenseCode::parse(&self.code).map_err(|e| ApiError::field("code", e))?;
        let (username, password) = username_and_password(&self.username, &self.password)?;
        Ok(ActivateLicense {
            code,
            username,
            password,
            context,
        })
    }
}

/// One row of the membership ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentResponse {
    pub id: Uuid,
    /// `license` or `admin`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub occurred_at: DateTime<Utc>,
    pub minutes: i64,
    pub grants_lifetime_access: bool,
    pub revokes_lifetime_access: bool,
    pub license_id: Option<Uuid>,
}

impl From<Adjustment> for AdjustmentResponse {
    fn from(adjustment: Adjustment) -> Self {
        Self {
            id: adjustment.id.as_uuid(),
            kind: adjustment.kind.as_str(),
            occurred_at: adjustment.occurred_at,
            minutes: adjustment.minutes,
            grants_lifetime_access: adjustment.grants_lifetime_access,
            revokes_lifetime_access: adjustment.revokes_lifetime_access,
            license_id: adjustment.license_id.map(|id| id.as_uuid()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariableResponse {
    pub name: String,
    pub value: String,
    /// Shown to anonymous callers too.
    pub is_public: bool,
}

impl From<Variable> for VariableResponse {
    fn from(variable: Variable) -> Self {
        Self {
            name: variable.name,
            value: variable.value,
            is_public: variable.is_public,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContextApplication {
    pub id: Uuid,
    pub name: String,
    pub variables: Vec<VariableResponse>,
    /// The files the caller may download, by name: every one for a user with an active
    /// membership, the public ones for anybody else (at most 1000).
    pub files: Vec<ListedFile>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContextUser {
    pub id: Uuid,
    pub username: String,
    pub membership: MembershipResponse,
}

/// `GET /api/integration/app_context`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppContextResponse {
    pub application: ContextApplication,
    /// Null for an anonymous caller (an application with anonymous access, no session).
    pub user: Option<ContextUser>,
    pub server_time: DateTime<Utc>,
}

impl From<AppContext> for AppContextResponse {
    fn from(context: AppContext) -> Self {
        Self {
            application: ContextApplication {
                id: context.application.id.as_uuid(),
                name: context.application.name.as_str().to_owned(),
                variables: context
                    .variables
                    .into_iter()
                    .map(VariableResponse::from)
                    .collect(),
                files: context.files.into_iter().map(ListedFile::from).collect(),
            },
            user: context.user.map(|user| ContextUser {
                id: user.id.as_uuid(),
                username: user.username,
                membership: user.membership.into(),
            }),
            server_time: context.server_time,
        }
    }
}
