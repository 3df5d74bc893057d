use sea_orm::entity::prelude::*;

/// One message queued for one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    pub endpoint_id: Uuid,
    pub message_id: Uuid,
    pub event_id: Option<Uuid>,
    pub message_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub state: String,
    pub attempts_in_run: i32,
    pub next_attempt_at: DateTimeUtc,
    /// The current claim, if any, and until when it holds the delivery.
    pub lease: Option<Uuid>,
    pub lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
