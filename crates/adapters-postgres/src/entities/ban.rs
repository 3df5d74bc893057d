use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    /// `ip`, `hardware_id`, `license` or `user`.
    pub kind: String,
    /// How the ban is shown: the canonical range, the hardware id, or an id.
    pub value: String,
    /// What non-IP bans match on exactly: the hardware id, or the license's or user's id.
    pub match_key: Option<String>,
    /// First and last address of an IP ban, as 17-byte keys (`ClientIp::key`).
    pub ip_start: Option<Vec<u8>>,
    pub ip_end: Option<Vec<u8>>,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
