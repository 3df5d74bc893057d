//! Bodies of the admin API's user management.

use crate::dto::MembershipResponse;
use crate::dto_sign_in::{CredentialsRequest, VariableResponse, credentials_schema};
use crate::error::ApiError;
use crate::pages::next_cursor;
use chrono::{DateTime, Utc};
use domain::license::LicenseDuration;
use domain::page::Page;
use domain::services::{DeviceResetTarget, UserPage};
use domain::session::UserVariable;
use domain::user::{Credential, User, UserLimits};
use domain::values::UserId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `POST /api/admin/adjust-membership-time`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"user_id": "01a2185a-e20e-73c2-9bdd-d960ccae9d72", "minutes": 1440, "action": "add"}))]
pub struct AdjustMembershipTimeRequest {
    pub user_id: Uuid,
    /// 1 to 52560000.
    #[serde(deserialize_with = "crate::dto::whole::required")]
    #[schema(minimum = 1, maximum = 52_560_000)]
    pub minutes: i64,
    /// `add` or `remove`.
    #[schema(value_type = MembershipTimeAction)]
    pub action: String,
}

/// What `adjust-membership-time` does with the minutes.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // the schema of `action`; requests carry it as a string
pub enum MembershipTimeAction {
    Add,
    Remove,
}

/// What `lifetime-access` does.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // the schema of `action`; requests carry it as a string
pub enum LifetimeAction {
    Grant,
    Revoke,
}

impl AdjustMembershipTimeRequest {
    /// The user and the signed number of minutes.
    pub fn try_into_domain(self) -> Result<(UserId, i64), ApiError> {
        let max = i64::from(LicenseDuration::MAX_MINUTES);
        if !(1..=max).contains(&self.minutes) {
            return Err(ApiError::field(
                "minutes",
                format!("must be between 1 and {max}"),
            ));
        }
        let minutes = match self.action.as_str() {
            "add" => self.minutes,
            "remove" => -self.minutes,
            _ => return Err(ApiError::field("action", "must be add or remove")),
        };
        Ok((UserId::from_uuid(self.user_id), minutes))
    }
}

/// `POST /api/admin/lifetime-access`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LifetimeAccessRequest {
    pub user_id: Uuid,
    /// `grant` or `revoke`.
    #[schema(value_type = LifetimeAction)]
    pub action: String,
}

impl LifetimeAccessRequest {
    pub fn try_into_domain(self) -> Result<(UserId, bool), ApiError> {
        let grant = match self.action.as_str() {
            "grant" => true,
            "revoke" => false,
            _ => return Err(ApiError::field("action", "must be grant or revoke")),
        };
        Ok((UserId::from_uuid(self.user_id), grant))
    }
}

/// `POST /api/admin/reset-devices`: the user's own `credentials` (as Authgate), or `user_id`.
#[derive(Debug, Deserialize)]
pub struct ResetDevicesRequest {
    pub credentials: Option<CredentialsRequest>,
    pub user_id: Option<Uuid>,
}

/// `oneOf` the two ways to name the user; the other field may only be absent or null.
impl utoipa::PartialSchema for ResetDevicesRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
        };
        let null = || ObjectBuilder::new().schema_type(Type::Null);
        let by_credentials = ObjectBuilder::new()
            .title(Some("ByCredentials"))
            .property("credentials", credentials_schema())
            .property("user_id", null())
            .required("credentials");
        let by_id = ObjectBuilder::new()
            .title(Some("ByUserId"))
            .property(
                "user_id",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
            )
            .property("credentials", null())
            .required("user_id");
        Schema::OneOf(
            OneOfBuilder::new()
                .item(by_credentials)
                .item(by_id)
                .description(Some(
                    "The user's own `credentials` (as Authgate), or `user_id`: exactly one.",
                ))
                .build(),
        )
        .into()
    }
}

impl ToSchema for ResetDevicesRequest {}

impl ResetDevicesRequest {
    pub fn try_into_domain(self) -> Result<DeviceResetTarget, ApiError> {
        match (self.credentials, self.user_id) {
            (Some(credentials), None) => Ok(DeviceResetTarget::Credentials(
                credentials.try_into_domain()?,
            )),
            (None, Some(id)) => Ok(DeviceResetTarget::User(UserId::from_uuid(id))),
            _ => Err(ApiError::field(
                "credentials",
                "give either credentials or user_id",
            )),
        }
    }
}

/// `PUT /api/admin/users/{id}/limits`: both limits at once; null or absent means the
/// application's limit applies.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserLimitsRequest {
    /// 1 to 10000, or null.
    #[serde(default, deserialize_with = "crate::dto::whole::option")]
    #[schema(minimum = 1, maximum = 10_000)]
    pub allowed_number_of_devices: Option<i64>,
    /// 1 to 10000, or null.
    #[serde(default, deserialize_with = "crate::dto::whole::option")]
    #[schema(minimum = 1, maximum = 10_000)]
    pub allowed_number_of_simultaneous_sessions: Option<i64>,
}

fn one_limit(field: &str, value: Option<i64>) -> Result<Option<u32>, ApiError> {
    value
        .map(|value| {
            u32::try_from(value)
                .ok()
                .filter(|value| (1..=10_000).contains(value))
                .ok_or_else(|| ApiError::field(field, "must be between 1 and 10000, or null"))
        })
        .transpose()
}

impl UserLimitsRequest {
    pub fn try_into_domain(self) -> Result<UserLimits, ApiError> {
        Ok(UserLimits {
            device_limit: one_limit("allowed_number_of_devices", self.allowed_number_of_devices)?,
            session_limit: one_limit(
                "allowed_number_of_simultaneous_sessions",
                self.allowed_number_of_simultaneous_sessions,
            )?,
        })
    }
}

/// The deprecated offset pages: `GET /api/admin/users?page=1&per_page=50`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Deprecated, use `cursor`: the page number from 1, oldest first by offset.
    #[param(minimum = 1, maximum = 10_000_000)]
    pub page: Option<u64>,
    /// Deprecated, use `limit`: 1 to 200; default 50.
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

impl UsersQuery {
    pub const MAX_PAGE: u64 = 10_000_000;

    pub const fn is_given(&self) -> bool {
        self.page.is_some() || self.per_page.is_some()
    }

    pub fn try_into_domain(self) -> Result<(u64, u64), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        // The offset must fit the databases' signed 64-bit OFFSET.
        if !(1..=Self::MAX_PAGE).contains(&page) {
            return Err(ApiError::field("page", "must be between 1 and 10000000"));
        }
        if !(1..=200).contains(&per_page) {
            return Err(ApiError::field("per_page", "must be between 1 and 200"));
        }
        Ok((page, per_page))
    }
}

/// A user in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummaryResponse {
    pub id: Uuid,
    pub username: String,
    /// `username_password` or `license_code`.
    pub credential_type: &'static str,
    pub membership: MembershipResponse,
    pub allowed_number_of_devices: Option<u32>,
    pub allowed_number_of_simultaneous_sessions: Option<u32>,
    pub signup_ip: Option<String>,
    pub last_ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserSummaryResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            username: user.username,
            credential_type: match user.credential {
                Credential::Password(_) => "username_password",
                Credential::LicenseCode => "license_code",
            },
            membership: user.membership.into(),
            allowed_number_of_devices: user.device_limit,
            allowed_number_of_simultaneous_sessions: user.session_limit,
            signup_ip: user.signup_ip.map(|ip| ip.to_string()),
            last_ip: user.last_ip.map(|ip| ip.to_string()),
            created_at: user.created_at,
        }
    }
}

/// One page of users: newest first by cursor, or (deprecated) oldest first by offset.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserListResponse {
    pub users: Vec<UserSummaryResponse>,
    /// Pass as `cursor` for the next page; null on the last page and with `page`.
    pub next_cursor: Option<String>,
    /// Deprecated offset pages only: the page number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Deprecated offset pages only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
    /// Deprecated offset pages only: how many users there are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

impl From<Page<User>> for UserListResponse {
    fn from(page: Page<User>) -> Self {
        Self {
            next_cursor: next_cursor(&page),
            users: page
                .items
                .into_iter()
                .map(UserSummaryResponse::from)
                .collect(),
            page: None,
            per_page: None,
            total: None,
        }
    }
}

impl UserListResponse {
    pub fn by_offset(page: UserPage, number: u64, per_page: u64) -> Self {
        Self {
            users: page
                .users
                .into_iter()
                .map(UserSummaryResponse::from)
                .collect(),
            next_cursor: None,
            page: Some(number),
            per_page: Some(per_page),
            total: Some(page.total),
        }
    }
}

/// `PUT /api/admin/variables/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VariableRequest {
    /// At most 10000 characters, without control characters other than newline, tab and
    /// carriage return.
    #[schema(
        max_length = 10000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub value: String,
    /// Shown to anonymous callers too (when the application allows anonymous access).
    /// Default false.
    pub is_public: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariableListResponse {
    pub variables: Vec<VariableResponse>,
}

/// `PUT .../variables/{name}` of a user.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserVariableRequest {
    /// At most 10000 characters.
    #[schema(max_length = 10000)]
    pub value: String,
}

/// A variable of one user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserVariableResponse {
    pub name: String,
    pub value: String,
}

impl From<UserVariable> for UserVariableResponse {
    fn from(variable: UserVariable) -> Self {
        Self {
            name: variable.name,
            value: variable.value,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserVariableListResponse {
    pub variables: Vec<UserVariableResponse>,
}

impl From<Vec<UserVariable>> for UserVariableListResponse {
    fn from(variables: Vec<UserVariable>) -> Self {
        Self {
            variables: variables
                .into_iter()
                .map(UserVariableResponse::from)
                .collect(),
        }
    }
}
