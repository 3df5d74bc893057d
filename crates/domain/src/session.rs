//! Sign-in sessions: opaque tokens, stored as digests, that expire.

use crate::values::{DeviceId, Digest, SessionId, UserId};
use chrono::{DateTime, Utc};

/// What is needed to store a session; the token itself is only ever shown to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id: SessionId,
    pub token_digest: Digest,
    pub user: UserId,
    pub device: Option<DeviceId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user: UserId,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Live until it expires or is revoked.
    #[must_use]
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// An application variable, shown to signed-in clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub value: String,
}
