//! Request and response bodies. serde and OpenAPI schemas live here, never in the domain;
//! each request converts itself into validated domain values, naming the field at fault.

use crate::dto_user_admin::UserSummaryResponse;
use crate::error::ApiError;
use chrono::{DateTime, Utc};
use domain::application::{
    Application, ApplicationName, ApplicationUpdate, CreatedApplication, RotatedSecret,
    SecretToRotate,
};
use domain::ban::{Ban, BanKind};
use domain::license::{CreatedLicense, LicenseDetails};
use domain::services::{
    BanRequest, BanSubject, LicenseBatch, LicenseBatchError, LicenseSignUp, MAX_BAN_REASON_CHARS,
    PasswordSignUp,
};
use domain::user::{Membership, User, UserDetails};
use domain::values::{ClientIp, HardwareId, IpBanRange, LicenseCode, Password, Username};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

fn hardware_id(raw: Option<&str>) -> Result<Option<HardwareId>, ApiError> {
    raw.map(|raw| HardwareId::parse(raw).map_err(|e| ApiError::field("hardware_id", e)))
        .transpose()
}

// --- integration ---

/// `POST /api/integration/sign_up`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"username": "john_doe", "password": "secure_password123", "hardware_id": "device-hardware-id"}))]
pub struct SignUpRequest {
    /// 3 to 32 letters, digits, `_`, `.` or `-`; unique per application ignoring case and width.
    pub username: String,
    /// 8 to 128 characters.
    pub password: String,
    /// Required when the application has device authentication on.
    pub hardware_id: Option<String>,
}

impl SignUpRequest {
    pub fn try_into_domain(self, ip: ClientIp) -> Result<PasswordSignUp, ApiError> {
        Ok(PasswordSignUp {
            username: Username::parse(&self.username)
                .map_err(|e| ApiError::field("username", e))?,
            password: Password::parse(&self.password)
                .map_err(|e| ApiError::field("password", e))?,
            hardware_id: hardware_id(self.hardware_id.as_deref())?,
            ip,
        })
    }
}

/// `POST /api/integration/sign_up_with_license_code`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"code": "ABC123XYZ789", "hardware_id": "device-hardware-id"}))]
pub struct LicenseSignUpRequest {
    /// Matched ignoring case, dashes and spaces; at most 64 characters.
    pub code: String,
    /// Required when the application has device authentication on.
    pub hardware_id: Option<String>,
}

impl LicenseSignUpRequest {
    pub fn try_into_domain(self, ip: ClientIp) -> Result<LicenseSignUp, ApiError> {
        Ok(LicenseSignUp {
            code: LicenseCode::parse(&self.code).map_err(|e| ApiError::field("code", e))?,
            hardware_id: hardware_id(self.hardware_id.as_deref())?,
            ip,
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
    pub name: Option<String>,
    pub device_authentication: Option<bool>,
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
            ..ApplicationUpdate::default()
        })
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
    pub created_at: DateTime<Utc>,
}

impl From<Application> for ApplicationResponse {
    fn from(app: Application) -> Self {
        Self {
            id: app.id.as_uuid(),
            name: app.name.as_str().to_owned(),
            device_authentication: app.device_authentication,
            api_key: app.api_key,
            created_at: app.created_at,
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
    pub created_at: DateTime<Utc>,
}

impl From<CreatedApplication> for CreatedApplicationResponse {
    fn from(created: CreatedApplication) -> Self {
        let app = created.application;
        Self {
            id: app.id.as_uuid(),
            name: app.name.as_str().to_owned(),
            device_authentication: app.device_authentication,
            api_key: app.api_key,
            api_secret: created.api_secret.expose().to_owned(),
            admin_api_key: created.admin_api_key.expose().to_owned(),
            created_at: app.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationListResponse {
    pub applications: Vec<ApplicationResponse>,
}

/// `POST /api/operator/applications/{id}/rotate`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"which": "api_secret", "old_valid_for_seconds": 86400}))]
pub struct RotateRequest {
    /// `api_secret` or `admin_api_key`.
    pub which: String,
    /// How long the old value keeps working: 0 (stops at once) to 31536000. Default 86400.
    pub old_valid_for_seconds: Option<i64>,
}

impl RotateRequest {
    pub fn try_into_domain(self) -> Result<(SecretToRotate, chrono::Duration), ApiError> {
        let which = match self.which.as_str() {
            "api_secret" => SecretToRotate::ApiSecret,
            "admin_api_key" => SecretToRotate::AdminApiKey,
            _ => {
                return Err(ApiError::field(
                    "which",
                    "must be api_secret or admin_api_key",
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

/// The new secret, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecretResponse {
    /// `api_secret` or `admin_api_key`.
    pub which: &'static str,
    pub value: String,
    /// Until when the old value keeps working; null when it stopped at once.
    pub old_valid_until: Option<DateTime<Utc>>,
}

impl From<RotatedSecret> for RotatedSecretResponse {
    fn from(rotated: RotatedSecret) -> Self {
        Self {
            which: match rotated.which {
                SecretToRotate::ApiSecret => "api_secret",
                SecretToRotate::AdminApiKey => "admin_api_key",
            },
            value: rotated.secret.expose().to_owned(),
            old_valid_until: rotated.old_valid_until,
        }
    }
}

// --- admin: settings ---

/// `PATCH /api/admin/settings`: any subset of the fields.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"allowed_number_of_devices": 3, "allowed_number_of_simultaneous_sessions": 3}))]
pub struct SettingsRequest {
    /// 1 to 10000 devices per user (a user's own limit overrides it). Default 1.
    pub allowed_number_of_devices: Option<i64>,
    /// 1 to 10000 live sessions per user (a user's own limit overrides it). Default 1.
    pub allowed_number_of_simultaneous_sessions: Option<i64>,
    /// 60 to 31536000 seconds. Default 300.
    pub session_lifetime_seconds: Option<i64>,
    /// Ban a refused request's other identifiers too. Default true.
    pub cross_banning: Option<bool>,
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
                1..=10_000,
            )?,
            session_limit: bounded(
                "allowed_number_of_simultaneous_sessions",
                self.allowed_number_of_simultaneous_sessions,
                1..=10_000,
            )?,
            session_lifetime_seconds: bounded(
                "session_lifetime_seconds",
                self.session_lifetime_seconds,
                60..=31_536_000,
            )?,
            cross_banning: self.cross_banning,
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
}

impl From<&Application> for SettingsResponse {
    fn from(app: &Application) -> Self {
        Self {
            device_authentication: app.device_authentication,
            allowed_number_of_devices: app.settings.device_limit,
            allowed_number_of_simultaneous_sessions: app.settings.session_limit,
            session_lifetime_seconds: app.settings.session_lifetime_seconds,
            cross_banning: app.settings.cross_banning,
        }
    }
}

// --- admin: licenses ---

/// `POST /api/admin/licenses`: `count` generated codes, or the vendor's own `codes`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"count": 10, "minutes": 43200}))]
pub struct CreateLicensesRequest {
    /// 1 to 1000 codes to generate.
    pub count: Option<i64>,
    /// Minutes of membership each license grants; null or absent for lifetime.
    pub minutes: Option<i64>,
    /// Vendor-made codes to import instead of generating (1 to 1000).
    pub codes: Option<Vec<String>>,
}

impl CreateLicensesRequest {
    pub fn try_into_domain(self) -> Result<LicenseBatch, ApiError> {
        let batch = match (self.count, self.codes) {
            (Some(_), Some(_)) => {
                return Err(ApiError::field("codes", "give either count or codes"));
            }
            (None, None) => return Err(ApiError::field("count", "give count or codes")),
            (Some(count), None) => LicenseBatch::generate(count, self.minutes),
            (None, Some(codes)) => {
                let codes = codes
                    .iter()
                    .map(|code| LicenseCode::parse(code))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ApiError::field("codes", e))?;
                LicenseBatch::import(codes, self.minutes)
            }
        };
        batch.map_err(|error| {
            let field = match error {
                LicenseBatchError::Count => "count",
                LicenseBatchError::Codes => "codes",
                LicenseBatchError::Minutes => "minutes",
            };
            ApiError::field(field, error)
        })
    }
}

/// A license just created, with its code shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedLicenseResponse {
    pub id: Uuid,
    pub code: String,
    pub minutes: Option<u32>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedLicensesResponse {
    pub licenses: Vec<CreatedLicenseResponse>,
}

impl From<Vec<CreatedLicense>> for CreatedLicensesResponse {
    fn from(created: Vec<CreatedLicense>) -> Self {
        let licenses = created
            .into_iter()
            .map(|created| CreatedLicenseResponse {
                id: created.license.id.as_uuid(),
                code: created.code.formatted(),
                minutes: created.license.duration.minutes(),
                created_at: created.license.created_at,
            })
            .collect();
        Self { licenses }
    }
}

/// `GET /api/admin/license/{code}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseResponse {
    pub id: Uuid,
    /// Null for a lifetime license.
    pub minutes: Option<u32>,
    pub is_used: bool,
    pub activated_by_user_id: Option<Uuid>,
    pub activated_at: Option<DateTime<Utc>>,
    pub is_banned: bool,
    pub created_at: DateTime<Utc>,
}

impl From<LicenseDetails> for LicenseResponse {
    fn from(details: LicenseDetails) -> Self {
        let license = details.license;
        Self {
            id: license.id.as_uuid(),
            minutes: license.duration.minutes(),
            is_used: license.is_used(),
            activated_by_user_id: license.activated_by.map(|id| id.as_uuid()),
            activated_at: license.activated_at,
            is_banned: details.is_banned,
            created_at: license.created_at,
        }
    }
}

// --- admin: bans ---

/// `POST /api/admin/bans`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"type": "ip", "value": "203.0.113.0/24", "reason": "credential stuffing"}))]
pub struct CreateBanRequest {
    /// `ip`, `hardware_id`, `license` or `user`.
    #[serde(rename = "type")]
    pub kind: String,
    /// An address or CIDR range; a hardware id; a license code; or a username.
    pub value: String,
    pub reason: Option<String>,
}

impl CreateBanRequest {
    pub fn try_into_domain(self) -> Result<BanRequest, ApiError> {
        let kind = BanKind::parse(&self.kind)
            .ok_or_else(|| ApiError::field("type", "must be ip, hardware_id, license or user"))?;
        let value = |e: &dyn std::fmt::Display| ApiError::field("value", e);
        let subject = match kind {
            BanKind::Ip => BanSubject::Ip(IpBanRange::parse(&self.value).map_err(|e| value(&e))?),
            BanKind::HardwareId => {
                BanSubject::HardwareId(HardwareId::parse(&self.value).map_err(|e| value(&e))?)
            }
            BanKind::License => {
                BanSubject::License(LicenseCode::parse(&self.value).map_err(|e| value(&e))?)
            }
            BanKind::User => BanSubject::User(Username::parse(&self.value).map_err(|e| value(&e))?),
        };
        if let Some(reason) = &self.reason
            && (reason.chars().count() > MAX_BAN_REASON_CHARS
                || reason
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\t')))
        {
            return Err(ApiError::field(
                "reason",
                "must be at most 500 characters, without control characters",
            ));
        }
        Ok(BanRequest {
            subject,
            reason: self.reason,
        })
    }
}

/// A ban. A `license` ban's value is the license id and a `user` ban's the user id: codes
/// are never stored in plaintext.
#[derive(Debug, Serialize, ToSchema)]
pub struct BanResponse {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub value: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Ban> for BanResponse {
    fn from(ban: Ban) -> Self {
        Self {
            id: ban.id.as_uuid(),
            kind: ban.target.kind().as_str(),
            value: ban.target.value(),
            reason: ban.reason,
            created_at: ban.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BanListResponse {
    pub bans: Vec<BanResponse>,
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
        }
    }
}

// --- service ---

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    /// `ok`.
    pub status: &'static str,
}
