//! Typed identifiers, so a user id can never be passed where a license id is expected.

use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (v7) id.
            #[must_use]
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            #[must_use]
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An application (a tenant): every store call is scoped by one.
    ApplicationId
);
id_type!(
    /// A user of one application.
    UserId
);
id_type!(
    /// A license of one application.
    LicenseId
);
id_type!(
    /// A device registered to a user.
    DeviceId
);
id_type!(
    /// A ban of one application.
    BanId
);
id_type!(
    /// A row of a user's membership ledger.
    AdjustmentId
);
id_type!(
    /// A sign-in session.
    SessionId
);
id_type!(
    /// An event: one state change, in the audit log and in webhooks.
    EventId
);
id_type!(
    /// A webhook endpoint of one application.
    WebhookEndpointId
);
id_type!(
    /// One message queued for one webhook endpoint.
    WebhookDeliveryId
);
id_type!(
    /// A file an application ships to its users.
    FileId
);
id_type!(
    /// An operator account: a person who signs in to the console.
    OperatorId
);
