use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    pub username: String,
    pub username_canonical: String,
    pub password_hash: Option<String>,
    pub credential_type: String,
    pub is_lifetime: bool,
    pub active_until: Option<DateTimeUtc>,
    pub signup_ip: Option<String>,
    pub last_ip: Option<String>,
    pub created_at: DateTimeUtc,
    pub allowed_number_of_devices: Option<i32>,
    pub allowed_number_of_simultaneous_sessions: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
