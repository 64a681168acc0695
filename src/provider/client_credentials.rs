//! The `client_credentials` grant (RFC 6749 §4.4): a confidential client's
//! token for itself, with no user and no refresh token.

use super::{AuditKind, ClientAuth, Provider, TokenResponse};
use crate::crypto::{random_id, timed_secret, SecretDigest};
use crate::error::{ErrorCode, OAuthError};
use crate::storage::{GrantRecord, IssuedAccess, NewAccess, Storage};

impl<S: Storage> Provider<S> {
    /// Issues a token to a confidential client for itself (RFC 6749 §4.4).
    pub async fn exchange_client_credentials(
        &self,
        auth: &ClientAuth,
        scope: Option<&str>,
        resource: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(auth).await?;
        if client.secret_digest.is_none() {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "client_credentials needs a confidential client",
            ));
        }
        self.require_grant_type(&client, "client_credentials")?;
        let scopes = self.requested_scopes(scope, &client.scopes)?;
        let resource = self.requested_resource(resource)?;
        let now = self.now();
        let grant_id = random_id()?;
        let access_token = format!("{grant_id}.{}", timed_secret(now)?);
        let grant = GrantRecord {
            id: grant_id.clone(),
            client_id: client.client_id.clone(),
            subject: None,
            scopes: scopes.clone(),
            resource,
            props: Default::default(),
            created_at: now,
            expires_at: self.grant_expiry(false, now),
            code: None,
            refresh: None,
            access_tokens: Vec::new(),
        };
        let expires_at = now + self.config.token_expiration;
        let access = NewAccess {
            digest: SecretDigest::of(&access_token),
            record: grant.access_record(&scopes, now, expires_at),
        };
        let mut grant = grant;
        grant.access_tokens.push(IssuedAccess { digest: access.digest, expires_at });
        self.storage.put_grant(grant, Some(access), now).await?;
        self.audit(AuditKind::ClientCredentialsIssued, Some(&client.client_id), None, Some(&grant_id));
        self.keep_client(&client).await;
        Ok(self.response(access_token, None, &scopes))
    }
}
