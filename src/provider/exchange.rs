//! The token endpoint's grants: `authorization_code` (PKCE S256 only),
//! `refresh_token` (rotation, a retry grace period, reuse detection) and
//! `client_credentials`.
//!
//! Codes and tokens carry their issue time (a rotated refresh token its
//! rotation's), so that on an eventually consistent store a code or token
//! issued moments ago at another location, which the store does not show
//! here yet, gets a retryable 503 instead of `invalid_grant`.

use serde::Serialize;

use super::clients::allows_grant;
use super::verify::split_token;
use super::{AuditKind, Provider};
use crate::crypto::{
    derive_successor, is_valid_pkce_verifier, pkce_s256, random_id, rotation_salt, timed_secret, SecretDigest,
};
use crate::error::{ErrorCode, OAuthError};
use crate::storage::{
    ClientRecord, CodeExpectation, CodeOutcome, GrantRecord, IssuedAccess, NewAccess, Redemption,
    RotateOutcome, Rotation, Storage,
};
use crate::validate::parse_scope;

use super::ClientAuth;

/// A successful token response (RFC 6749 §5.1).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The access token: `<grant id>.<secret>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The refresh token, when the grant has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scopes of the access token, space-separated.
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Provider<S> {
    /// Exchanges an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub async fn exchange_authorization_code(
        &self,
        auth: &ClientAuth,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
        resource: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(auth).await?;
        self.require_grant_type(&client, "authorization_code")?;
        if !is_valid_pkce_verifier(code_verifier) {
            return Err(OAuthError::invalid_grant("code_verifier is malformed"));
        }
        let (grant_id, _) = split_token(code).ok_or_else(unknown_code)?;
        let now = self.now();
        let expect = CodeExpectation {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_string(),
            code_challenge: pkce_s256(code_verifier),
            resource: resource.map(str::to_string),
        };
        let access_token = format!("{grant_id}.{}", timed_secret(now)?);
        let refresh_token = if allows_grant(&client, "refresh_token") {
            Some(format!("{grant_id}.{}", timed_secret(now)?))
        } else {
            None
        };
        let redemption = Redemption {
            access_digest: SecretDigest::of(&access_token),
            access_expires_at: now + self.config.token_expiration,
            refresh: refresh_token.as_deref().map(SecretDigest::of),
            grant_expires_at: self.grant_expiry(refresh_token.is_some(), now),
        };
        let outcome =
            self.storage.consume_code(grant_id, &SecretDigest::of(code), &expect, redemption, now).await?;
        match outcome {
            CodeOutcome::Redeemed(grant, access) => {
                self.audit(
                    AuditKind::CodeExchanged,
                    Some(&grant.client_id),
                    grant.subject.as_deref(),
                    Some(&grant.id),
                );
                self.keep_client(&client).await;
                Ok(self.response(access_token, refresh_token, &access.scopes))
            }
            CodeOutcome::Replayed => {
                self.ended(grant_id);
                self.audit(AuditKind::CodeReplayed, Some(&client.client_id), None, Some(grant_id));
                Err(OAuthError::invalid_grant("authorization code was already used; its tokens are revoked"))
            }
            CodeOutcome::Mismatch => Err(OAuthError::invalid_grant(
                "code_verifier, redirect_uri or client does not match the authorization request",
            )),
            CodeOutcome::ResourceMismatch => Err(resource_mismatch()),
            CodeOutcome::NotFound => Err(self.unseen_or(code, unknown_code())),
        }
    }

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
        self.audit(
            AuditKind::RefreshRotated,
            Some(&grant.client_id),
            grant.subject.as_deref(),
            Some(&grant.id),
        );
        self.keep_client(&client).await;
        let salt = grant.refresh.as_ref().map(|c| c.salt.as_str()).unwrap_or_default();
        let next = successor_token(grant_id, refresh_token, salt);
        Ok(self.response(access_token, Some(next), &access.scopes))
    }

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

    fn require_grant_type(&self, client: &ClientRecord, grant_type: &str) -> Result<(), OAuthError> {
        if allows_grant(client, grant_type) {
            Ok(())
        } else {
            Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("this client may not use {grant_type}"),
            ))
        }
    }

    fn grant_expiry(&self, with_refresh: bool, now: u64) -> u64 {
        let lifetime = if with_refresh {
            self.config.refresh_token_expiration.max(self.config.token_expiration)
        } else {
            self.config.token_expiration
        };
        now + lifetime
    }

    fn response(&self, access: String, refresh: Option<String>, scopes: &[String]) -> TokenResponse {
        TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in: self.config.token_expiration,
            refresh_token: refresh,
            scope: scopes.join(" "),
        }
    }
}

/// The successor of `presented`: same grant prefix, secret derived with `salt`.
fn successor_token(grant_id: &str, presented: &str, salt: &str) -> String {
    format!("{grant_id}.{}", derive_successor(presented, salt))
}

fn resource_mismatch() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, "resource differs from the one granted")
}

fn unknown_code() -> OAuthError {
    OAuthError::invalid_grant("authorization code is invalid or expired")
}

fn unknown_refresh() -> OAuthError {
    OAuthError::invalid_grant("refresh token is invalid, expired or revoked")
}
