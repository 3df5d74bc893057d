//! Validated value types. Holding one means it is valid: nothing downstream re-checks it.

mod hardware_id;
mod ids;
mod ip;
mod license_code;
mod password;
pub(crate) mod secret;
mod username;

pub use hardware_id::{HardwareId, HardwareIdError};
pub use ids::{
    AdjustmentId, ApplicationId, BanId, DeviceId, EventId, FileId, LicenseId, OperatorId,
    SessionId, UserId, WebhookDeliveryId, WebhookEndpointId,
};
pub use ip::{ClientIp, IpBanRange, IpError, PrefixLength};
pub use license_code::{LicenseCode, LicenseCodeError};
pub use password::{Password, PasswordError, PasswordHash};
pub use secret::{Digest, Secret, SecretKind};
pub use username::{Username, UsernameError};
