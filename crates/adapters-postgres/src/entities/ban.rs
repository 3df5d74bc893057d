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
    /// What the ban is found by, unique in the application: `BanTarget::match_key`.
    pub match_key: Option<String>,
    /// The license's or user's id, for a ban of one.
    pub subject_id: Option<Uuid>,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
    /// `None`: the ban never expires.
    pub expires_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
