//! Using and ending tokens: verification (the protected route), introspection
//! (RFC 7662), revocation (RFC 7009) and a user's own grants.

use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{AuditKind, ClientAuth, Provider};
use crate::clock::UnixTime;
use crate::crypto::{secret_issued_at, SecretDigest};
use crate::error::{ErrorCode, OAuthError};
use crate::storage::{AccessRecord, ClientOrigin, GrantRecord, Storage};

/// Length of a grant id: 16 random bytes in base64url.
const GRANT_ID_LEN: usize = 22;
/// Grants [`Ended`] remembers at most.
const ENDED_KEPT: usize = 256;

/// Splits `<grant id>.<secret>`; `None` for anything else.
pub(crate) fn split_token(token: &str) -> Option<(&str, &str)> {
    let (grant_id, secret) = token.split_once('.')?;
    let base64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (grant_id.len() == GRANT_ID_LEN && base64url(grant_id) && secret.len() == 43 && base64url(secret))
        .then_some((grant_id, secret))
}

/// The last grants this provider revoked (newest last), kept only over an
/// eventually consistent store. There a revoked token and one not visible
/// here yet both read as absent; whoever revoked it knows which, as a KV
/// location sees its own writes at once. A revocation stays true, so the
/// list needs no expiry, only a bound; past it, the time rule decides.
#[derive(Default)]
pub(crate) struct Ended(Mutex<Vec<String>>);

impl Ended {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remember(&self, grant_id: &str) {
        let mut ended = self.lock();
        if ended.len() >= ENDED_KEPT {
            ended.remove(0);
        }
        ended.push(grant_id.to_string());
    }

    fn contains(&self, grant_id: &str) -> bool {
        self.lock().iter().any(|id| id == grant_id)
    }
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
    /// The answer to a code or token the store does not show: `refusal`, or
    /// a retryable 503 when the store is eventually consistent and the token
    /// may just not have reached this location yet, because its embedded issue
    /// time is within the store's window of now and this provider did not
    /// revoke its grant. The time decides nothing else: forging it earns a
    /// 503 while it is within the window, then the refusal.
    pub(super) fn unseen_or(&self, token: &str, refusal: OAuthError) -> OAuthError {
        let Some(window) = self.storage.consistency_window() else { return refusal };
        let Some((grant_id, secret)) = split_token(token) else { return refusal };
        let recent = secret_issued_at(secret).is_some_and(|issued| issued.abs_diff(self.now()) <= window);
        if !recent || self.ended.contains(grant_id) {
            return refusal;
        }
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "this token was issued moments ago and is not visible here yet; retry shortly",
        )
    }

    /// Notes that a grant was revoked here, for [`unseen_or`](Self::unseen_or).
    pub(super) fn ended(&self, grant_id: &str) {
        if self.storage.consistency_window().is_some() {
            self.ended.remember(grant_id);
        }
    }

    /// Verifies an access token: one storage read. `invalid_token` for
    /// anything not live (a 503 for a new one an eventually consistent store
    /// does not show yet).
    pub async fn verify_access_token(&self, token: &str) -> Result<AuthInfo, OAuthError> {
        let invalid = || OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid or expired");
        let (grant_id, _) = split_token(token).ok_or_else(invalid)?;
        let record = self.storage.get_access(grant_id, &SecretDigest::of(token), self.now()).await?;
        let record = record.ok_or_else(|| self.unseen_or(token, invalid()))?;
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

    /// RFC 7662 introspection by an authenticated client. Only a configured
    /// confidential client (the operator's resource server, RFC 7662 §2.1)
    /// sees any token. Any other client sees only tokens issued to itself:
    /// a public one, since anyone can name it; a dynamically registered or
    /// metadata-document one, since anyone can create it. Another client's
    /// token reads as `{"active": false}` (RFC 7662 §2.2), as if unknown.
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
        let resource_server = caller.origin == ClientOrigin::Configured && caller.secret_digest.is_some();
        if !resource_server && caller.client_id != client_id {
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
            self.ended(&grant.id);
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
            self.ended(grant_id);
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
