//! What the server hands the console: the domain services and how to read a client's IP.

use actix_web::HttpRequest;
use domain::services::{
    AdminApi, ApplicationOverview, FilesApi, LicenseAdminApi, OperatorAccounts, OperatorApi,
    UserAdminApi, UserDirectoryApi, WebhookApi,
};
use domain::values::ClientIp;
use std::sync::Arc;

/// The client's address as the server's trusted-proxy rules read it (the HTTP adapter owns
/// those rules; the server passes them in, so adapters do not depend on each other).
pub type ClientIpReader = Arc<dyn Fn(&HttpRequest) -> ClientIp + Send + Sync>;

/// Shared by every console handler.
#[derive(Clone)]
pub struct ConsoleState {
    pub accounts: OperatorAccounts,
    pub operator: Arc<dyn OperatorApi>,
    pub admin: Arc<dyn AdminApi>,
    pub user_admin: Arc<dyn UserAdminApi>,
    /// Revoking and deleting selected licenses.
    pub license_admin: Arc<dyn LicenseAdminApi>,
    /// User search, ledger, sessions, adjustments with a reason, deletion.
    pub users: Arc<dyn UserDirectoryApi>,
    pub overview: ApplicationOverview,
    /// Webhook endpoints, their deliveries, redelivery and tests.
    pub webhooks: Arc<dyn WebhookApi>,
    /// Files: list, upload, download, delete.
    pub files: Arc<dyn FilesApi>,
    pub client_ip: ClientIpReader,
}
