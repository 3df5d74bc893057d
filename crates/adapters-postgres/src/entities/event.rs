use sea_orm::entity::prelude::*;

/// One state change: the audit log's row, and what webhooks deliver.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub application_id: Uuid,
    /// Dotted: `user.created`.
    pub event_type: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub target_kind: String,
    pub target_id: Uuid,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// A JSON object of the redacted summary.
    pub summary: String,
    pub occurred_at: DateTimeUtc,
    /// Where the event's transaction stands among commits: the webhooks' dispatcher reads
    /// events in this order (migration `m20261206_000020_webhook_fan_out`). PostgreSQL
    /// fills it in; on SQLite the writer does.
    pub commit_order: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
