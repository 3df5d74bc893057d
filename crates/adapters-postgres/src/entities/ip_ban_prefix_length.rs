use sea_orm::entity::prelude::*;

/// A prefix length some IP ban of the application uses, or used.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ip_ban_prefix_lengths")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub application_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ipv6: bool,
    #[sea_orm(primary_key, auto_increment = false)]
    pub prefix_len: i16,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
