use sea_orm::entity::prelude::*;

/// One attempt to send a delivery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub attempted_at: DateTimeUtc,
    pub status: Option<i32>,
    pub duration_ms: i32,
    /// The first 2 KiB of the answer.
    pub response: String,
    pub error: Option<String>,
    /// `succeeded`, `gone` or `failed`.
    pub outcome: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
