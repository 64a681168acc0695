//! Using and ending tokens: verification (the protected route), introspection
//! (RFC 7662), revocation (RFC 7009) and a user's own grants.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{AuditKind, ClientAuth, Provider};
use crate::clock::UnixTime;
use crate::crypto::SecretDigest;
use crate::error::{ErrorCode, OAuthError};
use crate::storage::{AccessRecord, GrantRecord, Storage};

/// Length of a grant id: 16 random bytes in base64url.
const GRANT_ID_LEN: usize = 22;

/// Splits `<grant id>.<secret>`; `None` for anything else.
pub(crate) fn split_token(token: &str) -> Option<(&str, &str)> {
    let (grant_id, secret) = token.split_once('.')?;
    let base64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (grant_id.len() == GRANT_ID_LEN && base64url(grant_id) && secret.len() == 43 && base64url(secret))
        .then_some((grant_id, secret))
}

/// What a valid access token stands for (the `auth` of the protected route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthInfo {
    /// The client it was issued to.
    pub client_id: String,
    /// The user, if any.
    pub subject: Option<String>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Its audience (RFC 8707).
    pub resource: String,
    /// The props attached at consent.
    pub props: Map<String, Value>,
    /// When it expires (Unix seconds).
    pub expires_at: UnixTime,
    /// The grant it belongs to.
    pub grant_id: String,
}

impl AuthInfo {
    fn from_record(record: AccessRecord) -> Self {
        Self {
            client_id: record.client_id,
            subject: record.subject,
            scopes: record.scopes,
            resource: record.resource,
            props: record.props,
            expires_at: record.expires_at,
            grant_id: record.grant_id,
        }
    }
}

/// Which kind of token a string turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// An RFC 7662 §2.2 introspection answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is live.
    pub active: bool,
    /// Its scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Its client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Its subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Its audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
    /// Issue time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<UnixTime>,
    /// `access_token` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

impl<S: Storage> Provider<S> {
    /// Verifies an access token: one storage read. `invalid_token` for
    /// anything not live.
    pub async fn verify_access_token(&self, token: &str) -> Result<AuthInfo, OAuthError> {
        let invalid = || OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid or expired");
        let (grant_id, _) = split_token(token).ok_or_else(invalid)?;
        let record = self
            .storage
            .get_access(grant_id, &SecretDigest::of(token), self.now())
            .await?
            .ok_or_else(invalid)?;
        Ok(AuthInfo::from_record(record))
    }

    /// Finds what a token string is, if it is live: an access token, or a
    /// refresh token (current or previous) of a live grant.
    async fn classify(&self, token: &str) -> Result<Option<(TokenKind, GrantOrAccess)>, OAuthError> {
        let Some((grant_id, _)) = split_token(token) else { return Ok(None) };
        let now = self.now();
        let digest = SecretDigest::of(token);
        if let Some(access) = self.storage.get_access(grant_id, &digest, now).await? {
            return Ok(Some((TokenKind::Access, GrantOrAccess::Access(access))));
        }
        let Some(grant) = self.storage.get_grant(grant_id, now).await? else { return Ok(None) };
        let is_refresh = grant.holds_refresh(&digest);
        Ok(is_refresh.then_some((TokenKind::Refresh, GrantOrAccess::Grant(grant))))
    }

    /// RFC 7662 introspection by an authenticated client. Confidential
    /// clients (resource servers) see any token; public clients only their own.
    pub async fn introspect(&self, auth: &ClientAuth, token: &str) -> Result<Introspection, OAuthError> {
        let caller = self.authenticate_client(auth).await?;
        let Some((kind, found)) = self.classify(token).await? else {
            return Ok(Introspection::default());
        };
        let (client_id, subject, scopes, resource, exp, iat) = match found {
            GrantOrAccess::Access(a) => {
                (a.client_id, a.subject, a.scopes, a.resource, a.expires_at, a.issued_at)
            }
            GrantOrAccess::Grant(g) => {
                (g.client_id, g.subject, g.scopes, g.resource, g.expires_at, g.created_at)
            }
        };
        if caller.secret_digest.is_none() && caller.client_id != client_id {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            scope: Some(scopes.join(" ")),
            client_id: Some(client_id),
            sub: subject,
            aud: Some(resource),
            iss: Some(self.config.issuer.clone()),
            exp: Some(exp),
            iat: Some(iat),
            token_type: Some(match kind {
                TokenKind::Access => "access_token",
                TokenKind::Refresh => "refresh_token",
            }),
        })
    }

    /// RFC 7009 revocation: a live access or refresh token of the calling
    /// client revokes its whole grant. Unknown tokens, and tokens of other
    /// clients, are answered the same way (success) and change nothing.
    pub async fn revoke(&self, auth: &ClientAuth, token: &str) -> Result<(), OAuthError> {
        let caller = self.authenticate_client(auth).await?;
        let Some((grant_id, _)) = split_token(token) else { return Ok(()) };
        let digest = SecretDigest::of(token);
        let revoked = self.storage.revoke_token(grant_id, &caller.client_id, &digest, self.now()).await?;
        if let Some(grant) = revoked {
            self.audit(
                AuditKind::GrantRevoked,
                Some(&grant.client_id),
                grant.subject.as_deref(),
                Some(&grant.id),
            );
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
            self.audit(AuditKind::GrantRevoked, Some(&grant.client_id), Some(subject), Some(grant_id));
        }
        Ok(revoked)
    }
}

#[allow(clippy::large_enum_variant)]
enum GrantOrAccess {
    Access(AccessRecord),
    Grant(GrantRecord),
}
