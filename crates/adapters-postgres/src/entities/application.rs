use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub device_authentication: bool,
    pub api_key: String,
    pub api_secret_digest: Vec<u8>,
    pub admin_api_key_digest: Vec<u8>,
    pub created_at: DateTimeUtc,
    pub allowed_number_of_devices: i32,
    pub allowed_number_of_simultaneous_sessions: i32,
    pub session_lifetime_seconds: i32,
    pub cross_banning: bool,
    pub previous_api_secret_digest: Option<Vec<u8>>,
    pub previous_api_secret_expires_at: Option<DateTimeUtc>,
    pub previous_admin_api_key_digest: Option<Vec<u8>>,
    pub previous_admin_api_key_expires_at: Option<DateTimeUtc>,
    pub response_signing: bool,
    pub response_signing_public_key: Option<Vec<u8>>,
    /// Sealed under the master key.
    pub response_signing_private_key: Option<Vec<u8>>,
    pub previous_response_signing_public_key: Option<Vec<u8>>,
    /// Sealed under the master key.
    pub previous_response_signing_private_key: Option<Vec<u8>>,
    pub previous_response_signing_valid_until: Option<DateTimeUtc>,
    pub request_signing: bool,
    pub anonymous_access: bool,
    pub legacy_auth: bool,
    pub max_user_variables: i32,
    pub request_signing_public_key: Option<Vec<u8>>,
    pub previous_request_signing_public_key: Option<Vec<u8>>,
    pub sealed_files_key: Option<Vec<u8>>,
    pub previous_request_signing_valid_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
