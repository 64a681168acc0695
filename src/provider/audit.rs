//! Audit events: what happened, to whom, never with a secret.

use serde::Serialize;

use super::Provider;
use crate::storage::Storage;

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

impl<S: Storage> Provider<S> {
    pub(crate) fn audit(
        &self,
        kind: AuditKind,
        client_id: Option<&str>,
        subject: Option<&str>,
        grant_id: Option<&str>,
    ) {
        if let Some(hook) = &self.config.audit {
            hook(&AuditEvent {
                kind,
                client_id: client_id.map(str::to_string),
                subject: subject.map(str::to_string),
                grant_id: grant_id.map(str::to_string),
                at: self.now(),
            });
        }
    }
}
