//! The admin API's license bodies: minting, importing, looking up and listing.

use crate::error::ApiError;
use crate::pages::next_cursor;
use chrono::{DateTime, Utc};
use domain::license::{CreatedLicense, LicenseDetails, LicenseDuration};
use domain::page::Page;
use domain::services::{LicenseBatch, LicenseBatchError, LicenseListQuery};
use domain::values::LicenseCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `POST /api/admin/licenses`: `count` generated codes, or the vendor's own `codes`.
#[derive(Debug, Deserialize)]
pub struct CreateLicensesRequest {
    /// 1 to 1000 codes to generate. Give this or `codes`.
    #[serde(default, deserialize_with = "crate::dto::whole::option")]
    pub count: Option<i64>,
    /// Minutes of membership each license grants, 1 to 52560000; null or absent for
    /// lifetime.
    #[serde(default, deserialize_with = "crate::dto::whole::option")]
    pub minutes: Option<i64>,
    /// Vendor-made codes to import instead of generating (1 to 1000).
    pub codes: Option<Vec<String>>,
}

/// `oneOf` generating `count` codes or importing `codes`; the other field may only be absent
/// or null.
impl utoipa::PartialSchema for CreateLicensesRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
        let null = || ObjectBuilder::new().schema_type(Type::Null);
        let minutes = || {
            OneOfBuilder::new()
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(LicenseDuration::MAX_MINUTES)),
                )
                .item(null())
                .description(Some(
                    "Minutes of membership each license grants, 1 to 52560000; null or \
                     absent for lifetime",
                ))
        };
        let generate = ObjectBuilder::new()
            .title(Some("Generate"))
            .property(
                "count",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(1000))
                    .description(Some("1 to 1000 codes to generate")),
            )
            .property("minutes", minutes())
            .property("codes", null())
            .required("count");
        let import = ObjectBuilder::new()
            .title(Some("Import"))
            .property(
                "codes",
                ArrayBuilder::new()
                    .items(license_code())
                    .min_items(Some(1))
                    .max_items(Some(1000))
                    .unique_items(true)
                    .description(Some(
                        "1 to 1000 distinct vendor-made codes, each as a sign-up reads it: 1 \
                         to 64 letters and digits, dashes and spaces anywhere (codes that \
                         differ only in case, dashes or spaces are the same code)",
                    )),
            )
            .property("minutes", minutes())
            .property("count", null())
            .required("codes");
        Schema::OneOf(
            OneOfBuilder::new()
                .item(generate)
                .item(import)
                .description(Some(
                    "`count` generated codes, or the vendor's own `codes`: exactly one.",
                ))
                .examples([serde_json::json!({"count": 10, "minutes": 43200})])
                .build(),
        )
        .into()
    }
}

impl ToSchema for CreateLicensesRequest {}

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

/// A license code as typed: 1 to 64 letters and digits, with dashes and spaces anywhere
/// (ignored, as is the letters' case and surrounding whitespace), at most 128 characters.
/// (The server counts the 128 after trimming surrounding whitespace; the document counts
/// them all, which differs only for a code padded with more whitespace than that.)
pub(crate) const LICENSE_CODE_PATTERN: &str = r"^\s*[ -]*(?:[A-Za-z0-9][ -]*){1,64}\s*$";

/// The schema of a license code as typed.
pub(crate) fn license_code() -> utoipa::openapi::Object {
    license_code_builder().build()
}

pub(crate) fn license_code_builder() -> utoipa::openapi::ObjectBuilder {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(LICENSE_CODE_PATTERN))
        .max_length(Some(2 * LicenseCode::MAX_CHARS))
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

/// `GET /api/admin/licenses?used=false&banned=false&created_since=…&created_until=…&code=…`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LicensesQuery {
    /// Only used (`true`) or unused (`false`) licenses.
    #[param(value_type = Option<bool>)]
    pub used: Option<String>,
    /// Only licenses a ban in force names (`true`), or none does (`false`).
    #[param(value_type = Option<bool>)]
    pub banned: Option<String>,
    /// Only licenses created at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_since: Option<String>,
    /// Only licenses created before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_until: Option<String>,
    /// The one license with this code (matched as sign-ups match it).
    #[param(schema_with = license_code)]
    pub code: Option<String>,
}

fn flag(field: &str, raw: Option<&str>) -> Result<Option<bool>, ApiError> {
    raw.map(|raw| match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::field(field, "must be true or false")),
    })
    .transpose()
}

pub(crate) fn time(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|raw| {
        DateTime::parse_from_rfc3339(raw)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|_| ApiError::field(field, "must be an RFC 3339 time"))
    })
    .transpose()
}

impl LicensesQuery {
    pub fn try_into_domain(self) -> Result<LicenseListQuery, ApiError> {
        Ok(LicenseListQuery {
            used: flag("used", self.used.as_deref())?,
            banned: flag("banned", self.banned.as_deref())?,
            created_since: time("created_since", self.created_since.as_deref())?,
            created_until: time("created_until", self.created_until.as_deref())?,
            code: self
                .code
                .map(|code| LicenseCode::parse(&code).map_err(|e| ApiError::field("code", e)))
                .transpose()?,
        })
    }
}

/// One page of licenses, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseListResponse {
    pub licenses: Vec<LicenseResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<LicenseDetails>> for LicenseListResponse {
    fn from(page: Page<LicenseDetails>) -> Self {
        Self {
            next_cursor: next_cursor(&page),
            licenses: page.items.into_iter().map(LicenseResponse::from).collect(),
        }
    }
}
