//! The admin API's ban bodies: banning, with an optional expiry, and the filtered list.

use crate::error::ApiError;
use crate::pages::next_cursor;
use chrono::{DateTime, Utc};
use domain::ban::{Ban, BanKind};
use domain::page::Page;
use domain::services::{BanExpiry, BanListQuery, BanRequest, BanSubject, MAX_BAN_REASON_CHARS};
use domain::values::{HardwareId, IpBanRange, LicenseCode, Username};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

fn kind(raw: &str) -> Result<BanKind, ApiError> {
    BanKind::parse(raw)
        .ok_or_else(|| ApiError::field("type", "must be ip, hardware_id, license or user"))
}

/// `POST /api/admin/bans`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"type": "ip", "value": "203.0.113.0/24", "reason": "credential stuffing", "duration_seconds": 86400}))]
pub struct CreateBanRequest {
    /// `ip`, `hardware_id`, `license` or `user`.
    #[serde(rename = "type")]
    #[schema(value_type = BanType)]
    pub kind: String,
    /// An address or CIDR range; a hardware id; a license code; or a username.
    pub value: String,
    /// At most 500 characters, without control characters other than newline and tab.
    #[schema(max_length = 500, pattern = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$")]
    pub reason: Option<String>,
    /// When the ban ends (RFC 3339, in the future). Give this or `duration_seconds`, or
    /// neither for a ban that never ends.
    pub expires_at: Option<DateTime<Utc>>,
    /// How long the ban lasts, 1 to 315360000 seconds (ten years).
    #[serde(default, deserialize_with = "crate::dto::whole::option")]
    #[schema(minimum = 1, maximum = 315_360_000)]
    pub duration_seconds: Option<i64>,
}

/// What a ban applies to.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // the schema of `type`; requests carry it as a string
pub enum BanType {
    Ip,
    HardwareId,
    License,
    User,
}

impl CreateBanRequest {
    pub fn try_into_domain(self) -> Result<BanRequest, ApiError> {
        let kind = kind(&self.kind)?;
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
        let expiry = match (self.expires_at, self.duration_seconds) {
            (Some(_), Some(_)) => {
                return Err(ApiError::field(
                    "duration_seconds",
                    "give either expires_at or duration_seconds",
                ));
            }
            (Some(at), None) => BanExpiry::At(at),
            (None, Some(seconds)) if (1..=BanExpiry::MAX_SECONDS).contains(&seconds) => {
                BanExpiry::After(chrono::Duration::seconds(seconds))
            }
            (None, Some(_)) => {
                return Err(ApiError::field(
                    "duration_seconds",
                    "must be between 1 and 315360000",
                ));
            }
            (None, None) => BanExpiry::Never,
        };
        Ok(BanRequest {
            subject,
            reason: self.reason,
            expiry,
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
    /// Null for a ban that never ends.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<Ban> for BanResponse {
    fn from(ban: Ban) -> Self {
        Self {
            id: ban.id.as_uuid(),
            kind: ban.target.kind().as_str(),
            value: ban.target.value(),
            reason: ban.reason,
            created_at: ban.created_at,
            expires_at: ban.expires_at,
        }
    }
}

/// One page of the bans in force, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BanListResponse {
    pub bans: Vec<BanResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<Ban>> for BanListResponse {
    fn from(page: Page<Ban>) -> Self {
        Self {
            next_cursor: next_cursor(&page),
            bans: page.items.into_iter().map(BanResponse::from).collect(),
        }
    }
}

/// `GET /api/admin/bans?type=ip&value=203.0.113.7`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BansQuery {
    /// Only bans of this kind: `ip`, `hardware_id`, `license` or `user`.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<BanType>)]
    pub kind: Option<String>,
    /// Only the ban of this value, as the list shows values (an IP value is matched in its
    /// canonical form).
    pub value: Option<String>,
}

impl BansQuery {
    pub fn try_into_domain(self) -> Result<BanListQuery, ApiError> {
        Ok(BanListQuery {
            kind: self.kind.as_deref().map(kind).transpose()?,
            value: self.value,
        })
    }
}
