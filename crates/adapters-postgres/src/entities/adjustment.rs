use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "membership_adjustments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    pub user_id: Uuid,
    /// `license` or `admin`.
    pub kind: String,
    pub occurred_at: DateTimeUtc,
    pub minutes: i64,
    pub grants_lifetime_access: bool,
    pub revokes_lifetime_access: bool,
    pub license_id: Option<Uuid>,
    /// Why an operator made it (a console adjustment's reason).
    pub reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
