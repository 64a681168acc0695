//! The `refresh_token` grant: rotation, a retry grace period and reuse
//! detection (OAuth 2.1 §4.3, design §3).

use super::exchange::resource_mismatch;
use super::verify::split_token;
use super::{AuditKind, ClientAuth, Provider, TokenResponse};
use crate::crypto::{derive_successor, rotation_salt, timed_secret, SecretDigest};
use crate::error::{ErrorCode, OAuthError};
use crate::storage::{RotateOutcome, Rotation, Storage};
use crate::validate::parse_scope;

impl<S: Storage> Provider<S> {
    /// Rotates a refresh token (OAuth 2.1 §4.3, design §3). One storage call:
    /// scope narrowing and the resource check happen inside the rotation.
    pub async fn exchange_refresh_token(
        &self,
        auth: &ClientAuth,
        refresh_token: &str,
        scope: Option<&str>,
        resource: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(auth).await?;
        self.require_grant_type(&client, "refresh_token")?;
        let (grant_id, _) = split_token(refresh_token).ok_or_else(unknown_refresh)?;
        let scopes = match scope {
            None => None,
            Some(scope) => Some(
                parse_scope(scope)
                    .ok_or_else(|| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?,
            ),
        };
        let now = self.now();
        let access_token = format!("{grant_id}.{}", timed_secret(now)?);
        let salt = rotation_salt(now)?;
        let rotation = Rotation {
            successor: SecretDigest::of(&successor_token(grant_id, refresh_token, &salt)),
            salt,
            access_digest: SecretDigest::of(&access_token),
            access_expires_at: now + self.config.token_expiration,
            grant_expires_at: self.grant_expiry(true, now),
            scopes,
            resource: resource.map(str::to_string),
            grace_seconds: self.config.refresh_grace_seconds,
        };
        let presented = SecretDigest::of(refresh_token);
        let outcome =
            self.storage.rotate_refresh(grant_id, &client.client_id, &presented, rotation, now).await?;
        let (grant, access) = match outcome {
            RotateOutcome::Rotated(g, a) | RotateOutcome::Retried(g, a) => (g, a),
            RotateOutcome::Reused => {
                self.ended(grant_id);
                self.audit(AuditKind::RefreshReused, Some(&client.client_id), None, Some(grant_id));
                return Err(OAuthError::invalid_grant(
                    "refresh token was already used; the grant is revoked",
                ));
            }
            RotateOutcome::ScopeExceeded => {
                return Err(OAuthError::new(ErrorCode::InvalidScope, "scope exceeds what the grant allows"))
            }
            RotateOutcome::ResourceMismatch => return Err(resource_mismatch()),
            RotateOutcome::NotFound => return Err(self.unseen_or(refresh_token, unknown_refresh())),
        };
        self.audit_grant(AuditKind::RefreshRotated, &grant);
        self.keep_client(&client).await;
        let salt = grant.refresh.as_ref().map(|c| c.salt.as_str()).unwrap_or_default();
        let next = successor_token(grant_id, refresh_token, salt);
        Ok(self.response(access_token, Some(next), &access.scopes))
    }
}

/// The successor of `presented`: same grant prefix, secret derived with `salt`.
fn successor_token(grant_id: &str, presented: &str, salt: &str) -> String {
    format!("{grant_id}.{}", derive_successor(presented, salt))
}

fn unknown_refresh() -> OAuthError {
    OAuthError::invalid_grant("refresh token is invalid, expired or revoked")
}
