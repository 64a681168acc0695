//! Ending tokens: RFC 7009 revocation by a client, and a user's view and
//! revocation of their own grants.

use super::verify::split_token;
use super::{AuditKind, ClientAuth, Provider};
use crate::crypto::SecretDigest;
use crate::error::OAuthError;
use crate::storage::{GrantRecord, Storage};

impl<S: Storage> Provider<S> {
    /// RFC 7009 revocation: a live access or refresh token of the calling
    /// client revokes its whole grant. Unknown tokens, and tokens of other
    /// clients, are answered the same way (success) and change nothing.
    pub async fn revoke(&self, auth: &ClientAuth, token: &str) -> Result<(), OAuthError> {
        let caller = self.authenticate_client(auth).await?;
        let Some((grant_id, _)) = split_token(token) else { return Ok(()) };
        let digest = SecretDigest::of(token);
        let revoked = self.storage.revoke_token(grant_id, &caller.client_id, &digest, self.now()).await?;
        if let Some(grant) = revoked {
            self.ended(&grant.id);
            self.audit_grant(AuditKind::GrantRevoked, &grant);
        }
        Ok(())
    }

    /// The live grants of a user, for a "connected apps" page.
    pub async fn list_grants(&self, subject: &str) -> Result<Vec<GrantRecord>, OAuthError> {
        Ok(self.storage.list_grants(subject, self.now()).await?)
    }

    /// Revokes one of a user's grants; `false` if the user holds no such grant.
    pub async fn revoke_grant(&self, subject: &str, grant_id: &str) -> Result<bool, OAuthError> {
        let grant = self.storage.get_grant(grant_id, self.now()).await?;
        let Some(grant) = grant.filter(|g| g.subject.as_deref() == Some(subject)) else {
            return Ok(false);
        };
        let revoked = self.storage.revoke_grant(&grant.id).await?;
        if revoked {
            self.ended(grant_id);
            self.audit(AuditKind::GrantRevoked, Some(&grant.client_id), Some(subject), Some(grant_id));
        }
        Ok(revoked)
    }
}
