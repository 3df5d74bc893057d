//! Request and response bodies. serde and OpenAPI schemas live here, never in the domain;
//! each request converts itself into validated domain values, naming the field at fault.

use crate::dto_user_admin::UserSummaryResponse;
use crate::error::ApiError;
use crate::pages::next_cursor;
use chrono::{DateTime, Utc};
use domain::application::{
    Application, ApplicationName, ApplicationSettings, ApplicationUpdate, CreatedApplication,
    RotatedSecret, RotatedValue, SecretToRotate,
};
use domain::event::RequestContext;
use domain::page::Page;
use domain::services::{LicenseSignUp, PasswordSignUp, SettingsChange};
use domain::user::{Membership, User, UserDetails};
use domain::values::{HardwareId, LicenseCode, Password, Username};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A hardware id as the input rules read it: 1 to 256 characters, no control characters.
pub(crate) fn hardware_id_builder() -> utoipa::openapi::ObjectBuilder {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(256))
        .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*$"))
}

/// The schema of an optional `hardware_id`: a hardware id, or null.
pub(crate) fn hardware_id_or_null() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(hardware_id_builder())
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}

fn hardware_id(raw: Option<&str>) -> Result<Option<HardwareId>, ApiError> {
    raw.map(|raw| HardwareId::parse(raw).map_err(|e| ApiError::field("hardware_id", e)))
        .transpose()
}

/// Integer fields read as JSON Schema reads `integer`: any number with no fractional part,
/// so `86400.0` is `86400` (serde alone answers it as invalid JSON). A fraction or a value
/// outside `i64` is still an error.
pub(crate) mod whole {
    use serde::{Deserialize, Deserializer, de::Error};

    fn to_i64<E: Error>(number: &serde_json::Number) -> Result<i64, E> {
        if let Some(value) = number.as_i64() {
            return Ok(value);
        }
        number
            .as_f64()
            .filter(|value| value.fract() == 0.0 && value.abs() < 9.2e18)
            // In range and whole: the cast is exact.
            .map(|value| value as i64)
            .ok_or_else(|| E::custom("expected an integer"))
    }

    pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        to_i64(&serde_json::Number::deserialize(deserializer)?)
    }

    /// Absent or `null` is `None`; use with `#[serde(default)]`.
    pub fn option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Option::<serde_json::Number>::deserialize(deserializer)?
            .map(|number| to_i64(&number))
            .transpose()
    }
}

// --- integration ---

/// `POST /api/integration/sign_up`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"username": "john_doe", "password": "secure_password123", "hardware_id": "device-hardware-id"}))]
pub struct SignUpRequest {
    /// 3 to 32 letters, digits, `_`, `.` or `-`; unique per application ignoring case and width.
    #[schema(schema_with = crate::dto_sign_in::username_schema)]
    pub username: String,
    /// 8 to 128 characters.
    #[schema(schema_with = crate::dto_sign_in::password_schema)]
    pub password: String,
    /// Required when the application has device authentication on.
    #[schema(schema_with = hardware_id_or_null)]
    pub hardware_id: Option<String>,
}

impl SignUpRequest {
    pub fn try_into_domain(self, context: RequestContext) -> Result<PasswordSignUp, ApiError> {
        Ok(PasswordSignUp {
            username: Username::parse(&self.username)
                .map_err(|e| ApiError::field("username", e))?,
            password: Password::parse(&self.password)
                .map_err(|e| ApiError::field("password", e))?,
            hardware_id: hardware_id(self.hardware_id.as_deref())?,
            context,
        })
    }
}

/// `POST /api/integration/sign_up_with_license_code`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"code": "ABC123XYZ789", "hardware_id": "device-hardware-id"}))]
pub struct LicenseSignUpRequest {
    /// Matched ignoring case, dashes and spaces; at most 64 characters.
    #[schema(schema_with = crate::dto_licenses::license_code)]
    pub code: String,
    /// Required when the application has device authentication on.
    #[schema(schema_with = hardware_id_or_null)]
    pub hardware_id: Option<String>,
}

impl LicenseSignUpRequest {
    pub fn try_into_domain(self, context: RequestContext) -> Result<LicenseSignUp, ApiError> {
        Ok(LicenseSignUp {
            code: LicenseCode::parse(&self.code).map_err(|e| ApiError::field("code", e))?,
            hardware_id: hardware_id(self.hardware_id.as_deref())?,
            context,
        })
    }
}

/// A user's membership.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipResponse {
    pub is_active: bool,
    pub is_lifetime: bool,
    pub active_until: Option<DateTime<Utc>>,
}

impl From<Membership> for MembershipResponse {
    fn from(membership: Membership) -> Self {
        Self {
            is_active: membership.is_active(Utc::now()),
            is_lifetime: membership.is_lifetime,
            active_until: membership.active_until,
        }
    }
}

/// A user just signed up.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub username: String,
    pub membership: MembershipResponse,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            username: user.username,
            membership: user.membership.into(),
        }
    }
}

// --- operator ---

/// `POST /api/operator/applications`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApplicationRequest {
    /// 1 to 100 characters after trimming surrounding whitespace, no control characters.
    #[schema(
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    pub name: String,
    /// Defaults to `true`.
    pub device_authentication: Option<bool>,
}

impl CreateApplicationRequest {
    pub fn try_into_domain(self) -> Result<(ApplicationName, bool), ApiError> {
        let name = ApplicationName::parse(&self.name).map_err(|e| ApiError::field("name", e))?;
        Ok((name, self.device_authentication.unwrap_or(true)))
    }
}

/// `PATCH /api/operator/applications/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateApplicationRequest {
    /// As when creating: 1 to 100 characters after trimming, no control characters.
    #[schema(
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?\s*$"
    )]
    pub name: Option<String>,
    pub device_authentication: Option<bool>,
    /// Sign integration answers (RFC 9421, Ed25519).
    pub response_signing: Option<bool>,
    /// Require signed integration requests (RFC 9421, Ed25519).
    pub request_signing: Option<bool>,
    /// Answer `app_context` without a session, with the public variables.
    pub anonymous_access: Option<bool>,
    /// How many variables a user may have: 1 to 1000.
    #[serde(default, deserialize_with = "whole::option")]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_user_variables: Option<i64>,
    /// Let calls carry the user's credentials instead of a session.
    pub legacy_auth: Option<bool>,
}

impl UpdateApplicationRequest {
    pub fn try_into_domain(self) -> Result<ApplicationUpdate, ApiError> {
        let name = self
            .name
            .map(|name| ApplicationName::parse(&name).map_err(|e| ApiError::field("name", e)))
            .transpose()?;
        Ok(ApplicationUpdate {
            name,
            device_authentication: self.device_authentication,
            response_signing: self.response_signing,
            request_signing: self.request_signing,
            anonymous_access: self.anonymous_access,
            max_user_variables: bounded(
                "max_user_variables",
                self.max_user_variables,
                ApplicationSettings::MAX_USER_VARIABLES,
            )?,
            legacy_auth: self.legacy_auth,
            ..ApplicationUpdate::default()
        })
    }
}

/// The application's signing: the key that signs its integration answers, to pin in its
/// program, and the key its signed requests are checked against (see docs/signing.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningFields {
    /// Whether integration answers are signed (RFC 9421, Ed25519).
    pub response_signing: bool,
    /// Standard base64 of the 32-byte Ed25519 public key that signs as `latchkey`.
    pub response_signing_public_key: Option<String>,
    /// The `keyid` of those signatures.
    pub response_signing_key_id: Option<String>,
    /// Whether every integration request must be signed (RFC 9421, Ed25519).
    pub request_signing: bool,
    /// Standard base64 of the public key signed requests are checked against.
    pub request_signing_public_key: Option<String>,
    /// The `keyid` signed requests must name.
    pub request_signing_key_id: Option<String>,
}

impl From<&Application> for SigningFields {
    fn from(app: &Application) -> Self {
        let response = app
            .response_signing_keys
            .as_ref()
            .map(|keys| keys.current.public_key);
        let request = app.request_signing_keys.map(|keys| keys.current);
        Self {
            response_signing: app.settings.response_signing,
            response_signing_public_key: response.map(|key| key.to_base64()),
            response_signing_key_id: response.map(|key| key.key_id()),
            request_signing: app.settings.request_signing,
            request_signing_public_key: request.map(|key| key.to_base64()),
            request_signing_key_id: request.map(|key| key.key_id()),
        }
    }
}

/// An application, without secrets.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationResponse {
    pub id: Uuid,
    pub name: String,
    pub device_authentication: bool,
    /// The public half of the integration credentials.
    pub api_key: String,
    #[serde(flatten)]
    pub signing: SigningFields,
    /// The AES-256 key files stored encrypted are under, as 64 hex digits: the program
    /// embeds it to decrypt them (docs/files.md). Null before the server made one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_key: Option<String>,

    /// Shown once, when turning request signing on made the key pair: standard base64 of
    /// the 32-byte Ed25519 private key (seed) the program signs with. Not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_signing_private_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Application> for ApplicationResponse {
    fn from(app: Application) -> Self {
        Self {
            id: app.id.as_uuid(),
            name: app.name.as_str().to_owned(),
            device_authentication: app.device_authentication,
            signing: SigningFields::from(&app),
            request_signing_private_key: None,
            files_key: None,
            api_key: app.api_key,
            created_at: app.created_at,
        }
    }
}

impl From<SettingsChange> for ApplicationResponse {
    fn from(change: SettingsChange) -> Self {
        Self {
            request_signing_private_key: change
                .request_signing_private_key
                .map(|key| key.as_str().to_owned()),
            ..Self::from(change.application)
        }
    }
}

/// A new application with its secrets, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApplicationResponse {
    pub id: Uuid,
    pub name: String,
    pub device_authentication: bool,
    pub api_key: String,
    pub api_secret: String,
    pub admin_api_key: String,
    #[serde(flatten)]
    pub signing: SigningFields,
    /// The AES-256 key files stored encrypted are under, as 64 hex digits: the program
    /// embeds it to decrypt them (docs/files.md). Null before the server made one.
    pub files_key: Option<String>,

    pub created_at: DateTime<Utc>,
}

impl From<CreatedApplication> for CreatedApplicationResponse {
    fn from(created: CreatedApplication) -> Self {
        let app = created.application;
        Self {
            id: app.id.as_uuid(),
            name: app.name.as_str().to_owned(),
            device_authentication: app.device_authentication,
            signing: SigningFields::from(&app),
            api_key: app.api_key,
            api_secret: created.api_secret.expose().to_owned(),
            admin_api_key: created.admin_api_key.expose().to_owned(),
            files_key: None,
            created_at: app.created_at,
        }
    }
}

/// One page of applications, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationListResponse {
    pub applications: Vec<ApplicationResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<Application>> for ApplicationListResponse {
    fn from(page: Page<Application>) -> Self {
        Self {
            next_cursor: next_cursor(&page),
            applications: page
                .items
                .into_iter()
                .map(ApplicationResponse::from)
                .collect(),
        }
    }
}

/// `POST /api/operator/applications/{id}/rotate`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"which": "api_secret", "old_valid_for_seconds": 86400}))]
pub struct RotateRequest {
    /// `api_secret`, `admin_api_key`, `response_signing_key`, `request_signing_key` or
    /// `files_key` (files stored encrypted before stay under the old key).
    #[schema(value_type = SecretToRotateName)]
    pub which: String,
    /// How long the old value keeps working: 0 (stops at once) to 31536000. Default 86400.
    #[serde(default, deserialize_with = "whole::option")]
    #[schema(minimum = 0, maximum = 31_536_000)]
    pub old_valid_for_seconds: Option<i64>,
}

impl RotateRequest {
    pub fn try_into_domain(self) -> Result<(SecretToRotate, chrono::Duration), ApiError> {
        let which = match self.which.as_str() {
            "api_secret" => SecretToRotate::ApiSecret,
            "admin_api_key" => SecretToRotate::AdminApiKey,
            "response_signing_key" => SecretToRotate::ResponseSigningKey,
            "request_signing_key" => SecretToRotate::RequestSigningKey,
            "files_key" => SecretToRotate::FilesKey,
            _ => {
                return Err(ApiError::field(
                    "which",
                    "must be api_secret, admin_api_key, response_signing_key, \
                     request_signing_key or files_key",
                ));
            }
        };
        let seconds = self.old_valid_for_seconds.unwrap_or(86_400);
        if !(0..=31_536_000).contains(&seconds) {
            return Err(ApiError::field(
                "old_valid_for_seconds",
                "must be between 0 and 31536000",
            ));
        }
        Ok((which, chrono::Duration::seconds(seconds)))
    }
}

/// What can be rotated.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // the schema of `which`; requests carry it as a string
pub enum SecretToRotateName {
    ApiSecret,
    AdminApiKey,
    ResponseSigningKey,
    RequestSigningKey,
    FilesKey,
}

/// The new secret, shown only here; for `response_signing_key`, the new public key; for
/// `request_signing_key`, the new private key, shown only here; for `files_key`, the new
/// files key in hex (also shown in the settings answers).
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecretResponse {
    /// `api_secret`, `admin_api_key` or `response_signing_key`.
    pub which: &'static str,
    pub value: String,
    /// Until when the old value keeps working (an old signing key keeps signing, as
    /// `latchkey-previous`); null when it stopped at once.
    pub old_valid_until: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub signing: SigningFields,
}

impl From<RotatedSecret> for RotatedSecretResponse {
    fn from(rotated: RotatedSecret) -> Self {
        Self {
            which: match rotated.which {
                SecretToRotate::ApiSecret => "api_secret",
                SecretToRotate::AdminApiKey => "admin_api_key",
                SecretToRotate::ResponseSigningKey => "response_signing_key",
                SecretToRotate::RequestSigningKey => "request_signing_key",
                SecretToRotate::FilesKey => "files_key",
            },
            value: match rotated.value {
                RotatedValue::Secret(secret) => secret.expose().to_owned(),
                RotatedValue::PublicKey(key) => key.to_base64(),
                RotatedValue::PrivateKey(key) | RotatedValue::FilesKey(key) => {
                    key.as_str().to_owned()
                }
            },
            old_valid_until: rotated.old_valid_until,
            signing: SigningFields::from(&rotated.application),
        }
    }
}

// --- admin: settings ---

/// `PATCH /api/admin/settings`: any subset of the fields.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"allowed_number_of_devices": 3, "allowed_number_of_simultaneous_sessions": 3}))]
pub struct SettingsRequest {
    /// 1 to 10000 devices per user (a user's own limit overrides it). Default 1.
    #[serde(default, deserialize_with = "whole::option")]
    #[schema(minimum = 1, maximum = 10_000)]
    pub allowed_number_of_devices: Option<i64>,
    /// 1 to 10000 live sessions per user (a user's own limit overrides it). Default 1.
    #[serde(default, deserialize_with = "whole::option")]
    #[schema(minimum = 1, maximum = 10_000)]
    pub allowed_number_of_simultaneous_sessions: Option<i64>,
    /// 60 to 31536000 seconds. Default 300.
    #[serde(default, deserialize_with = "whole::option")]
    #[schema(minimum = 60, maximum = 31_536_000)]
    pub session_lifetime_seconds: Option<i64>,
    /// Ban a refused request's other identifiers too. Default true.
    pub cross_banning: Option<bool>,
    /// Sign integration answers (RFC 9421, Ed25519). Default true for new applications.
    pub response_signing: Option<bool>,
    /// Require every integration request to be signed (RFC 9421, Ed25519). Default false.
    /// Turning it on the first time makes the key pair and shows its private key once.
    pub request_signing: Option<bool>,
    /// Answer `app_context` without a session, with the public variables. Default false.
    pub anonymous_access: Option<bool>,
    /// How many variables a user may have: 1 to 1000. Default 100.
    #[serde(default, deserialize_with = "whole::option")]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_user_variables: Option<i64>,
    /// Let `app_context` and the user variables take the user's credentials
    /// (`x-api-username` and `x-api-password`, or `x-api-license-code`) instead of a session.
    /// Default false.
    pub legacy_auth: Option<bool>,
}

fn bounded(
    field: &str,
    value: Option<i64>,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, ApiError> {
    value
        .map(|value| {
            u32::try_from(value)
                .ok()
                .filter(|value| range.contains(value))
                .ok_or_else(|| {
                    ApiError::field(
                        field,
                        format!("must be between {} and {}", range.start(), range.end()),
                    )
                })
        })
        .transpose()
}

impl SettingsRequest {
    pub fn try_into_domain(self) -> Result<ApplicationUpdate, ApiError> {
        Ok(ApplicationUpdate {
            device_limit: bounded(
                "allowed_number_of_devices",
                self.allowed_number_of_devices,
                ApplicationSettings::DEVICE_LIMITS,
            )?,
            session_limit: bounded(
                "allowed_number_of_simultaneous_sessions",
                self.allowed_number_of_simultaneous_sessions,
                ApplicationSettings::SESSION_LIMITS,
            )?,
            session_lifetime_seconds: bounded(
                "session_lifetime_seconds",
                self.session_lifetime_seconds,
                ApplicationSettings::SESSION_LIFETIME_SECONDS,
            )?,
            cross_banning: self.cross_banning,
            response_signing: self.response_signing,
            request_signing: self.request_signing,
            anonymous_access: self.anonymous_access,
            max_user_variables: bounded(
                "max_user_variables",
                self.max_user_variables,
                ApplicationSettings::MAX_USER_VARIABLES,
            )?,
            legacy_auth: self.legacy_auth,
            ..ApplicationUpdate::default()
        })
    }
}

/// An application's sign-in settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsResponse {
    pub device_authentication: bool,
    pub allowed_number_of_devices: u32,
    pub allowed_number_of_simultaneous_sessions: u32,
    pub session_lifetime_seconds: u32,
    pub cross_banning: bool,
    /// Whether `app_context` answers callers without a session, with the public variables.
    pub anonymous_access: bool,
    /// How many variables a user may have.
    pub max_user_variables: u32,
    /// Whether calls may carry the user's credentials instead of a session.
    pub legacy_auth: bool,
    /// The AES-256 key files stored encrypted are under, as 64 hex digits: the program
    /// embeds it to decrypt them (docs/files.md). Null before the server made one.
    pub files_key: Option<String>,
    #[serde(flatten)]
    pub signing: SigningFields,
    /// Shown once, when turning request signing on made the key pair (see
    /// `ApplicationResponse`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_signing_private_key: Option<String>,
}

impl From<SettingsChange> for SettingsResponse {
    fn from(change: SettingsChange) -> Self {
        Self {
            request_signing_private_key: change
                .request_signing_private_key
                .map(|key| key.as_str().to_owned()),
            ..Self::from(&change.application)
        }
    }
}

impl From<&Application> for SettingsResponse {
    fn from(app: &Application) -> Self {
        Self {
            device_authentication: app.device_authentication,
            allowed_number_of_devices: app.settings.device_limit,
            allowed_number_of_simultaneous_sessions: app.settings.session_limit,
            session_lifetime_seconds: app.settings.session_lifetime_seconds,
            cross_banning: app.settings.cross_banning,
            anonymous_access: app.settings.anonymous_access,
            max_user_variables: app.settings.max_user_variables,
            legacy_auth: app.settings.legacy_auth,
            signing: SigningFields::from(app),
            request_signing_private_key: None,
            files_key: None,
        }
    }
}

// --- admin: users ---

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceResponse {
    pub id: Uuid,
    pub hardware_id: String,
    pub registered_at: DateTime<Utc>,
}

/// `GET /api/admin/user/{username_or_license_code}`: the user and their devices.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetailsResponse {
    #[serde(flatten)]
    pub user: UserSummaryResponse,
    pub registered_devices: Vec<DeviceResponse>,
    /// The user's ban in force, or null when the user is not banned.
    pub ban: Option<crate::dto_bans::BanResponse>,
}

impl From<UserDetails> for UserDetailsResponse {
    fn from(details: UserDetails) -> Self {
        Self {
            user: details.user.into(),
            registered_devices: details
                .devices
                .into_iter()
                .map(|device| DeviceResponse {
                    id: device.id.as_uuid(),
                    hardware_id: device.hardware_id.as_str().to_owned(),
                    registered_at: device.registered_at,
                })
                .collect(),
            ban: details.ban.map(Into::into),
        }
    }
}

// --- service ---

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    /// `ok`.
    pub status: &'static str,
}

#[cfg(test)]
mod tests {
    use crate::dto_webhooks::RotateWebhookSecretRequest;

    #[test]
    fn credentials_are_read_from_an_object_only() {
        use crate::dto_sign_in::LoginRequest;
        let read = |body: &str| serde_json::from_str::<LoginRequest>(body);
        assert!(read(r#"{"credentials": {"username": "alice", "password": "pw"}}"#).is_ok());
        assert!(read(r#"{"credentials": ["alice", "pw", null]}"#).is_err());
        assert!(read(r#"{"credentials": {"username": 5}}"#).is_err());
    }

    #[test]
    fn an_integer_field_takes_a_whole_number_written_with_a_fraction() {
        let read = |body: &str| serde_json::from_str::<RotateWebhookSecretRequest>(body);
        let seconds = |body: &str| read(body).unwrap().old_valid_for_seconds;
        assert_eq!(
            seconds(r#"{"old_valid_for_seconds": 69204.0}"#),
            Some(69_204)
        );
        assert_eq!(seconds(r#"{"old_valid_for_seconds": 69204}"#), Some(69_204));
        assert_eq!(seconds(r#"{"old_valid_for_seconds": null}"#), None);
        assert_eq!(seconds("{}"), None);
        assert!(read(r#"{"old_valid_for_seconds": 1.5}"#).is_err());
        assert!(read(r#"{"old_valid_for_seconds": 1e300}"#).is_err());
        assert!(read(r#"{"old_valid_for_seconds": "1"}"#).is_err());
    }
}
