//! The `authorization_code` grant (PKCE S256 only), and what the token
//! endpoint's issuing grants share: the response, the client's grant-type
//! check and the grant's lifetime. The other grants: `refresh.rs` and
//! `client_credentials.rs`.
//!
//! Codes and tokens carry their issue time (a rotated refresh token its
//! rotation's), so that on an eventually consistent store a code or token
//! issued moments ago at another location, which the store does not show
//! here yet, gets a retryable 503 instead of `invalid_grant` (see
//! `verify.rs`).

use serde::Serialize;

use super::clients::allows_grant;
use super::verify::split_token;
use super::{AuditKind, ClientAuth, Provider};
use crate::crypto::{is_valid_pkce_verifier, pkce_s256, timed_secret, SecretDigest};
use crate::error::{ErrorCode, OAuthError};
use crate::storage::{ClientRecord, CodeExpectation, CodeOutcome, Redemption, Storage};

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
                self.audit_grant(AuditKind::CodeExchanged, &grant);
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

    pub(super) fn require_grant_type(
        &self,
        client: &ClientRecord,
        grant_type: &str,
    ) -> Result<(), OAuthError> {
        if allows_grant(client, grant_type) {
            Ok(())
        } else {
            Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("this client may not use {grant_type}"),
            ))
        }
    }

    pub(super) fn grant_expiry(&self, with_refresh: bool, now: u64) -> u64 {
        let lifetime = if with_refresh {
            self.config.refresh_token_expiration.max(self.config.token_expiration)
        } else {
            self.config.token_expiration
        };
        now + lifetime
    }

    pub(super) fn response(
        &self,
        access: String,
        refresh: Option<String>,
        scopes: &[String],
    ) -> TokenResponse {
        TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in: self.config.token_expiration,
            refresh_token: refresh,
            scope: scopes.join(" "),
        }
    }
}

pub(super) fn resource_mismatch() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidTarget, "resource differs from the one granted")
}

fn unknown_code() -> OAuthError {
    OAuthError::invalid_grant("authorization code is invalid or expired")
}
