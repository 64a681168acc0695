//! Audit events: what happened, to whom, never with a secret.
//!
//! Plain data, below the configuration (which holds the hook that receives
//! them) and the provider (which emits them).

use serde::Serialize;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditKind {
    /// A client registered dynamically.
    ClientRegistered,
    /// A client was deleted with its grants.
    ClientDeleted,
    /// Client authentication failed.
    ClientAuthFailed,
    /// A user approved an authorization request.
    AuthorizationGranted,
    /// A code was exchanged for tokens.
    CodeExchanged,
    /// A used code was presented again; the grant was revoked.
    CodeReplayed,
    /// A refresh token was rotated (or a lost rotation retried).
    RefreshRotated,
    /// A retired refresh token was presented; the grant was revoked.
    RefreshReused,
    /// A `client_credentials` token was issued.
    ClientCredentialsIssued,
    /// A grant was revoked (RFC 7009 or by its user).
    GrantRevoked,
}

/// One audit event. Ids only: grant ids are not secrets (a token is
/// `<grant id>.<secret>`, and the secret never appears here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// The client concerned.
    pub client_id: Option<String>,
    /// The subject concerned.
    pub subject: Option<String>,
    /// The grant concerned.
    pub grant_id: Option<String>,
    /// When, in Unix seconds.
    pub at: u64,
}
